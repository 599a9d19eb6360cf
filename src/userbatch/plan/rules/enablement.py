"""Environment users derived as a sync would (SPEC §3): R2 profile, R4 status, R9 admins,
R10 access modes. Computed for every environment from a (planned) tenant state."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin
from userbatch.plan.context import lower
from userbatch.state.model import ENV_USER_COLUMNS, State

ADDRESS_PARTS = ("street_address", "city", "state_or_province", "postal_code", "country_or_region")
NO_LICENSE_MODES = ("administrative", "non-interactive")
UNGROUPED_ADMINS = ("Global admin", "Power Platform admin")  # R9: need not be in the group


def _join(frame: pd.DataFrame, columns, sep: str) -> pd.Series:
    """Non-empty parts joined by ``sep``; missing when every part is empty."""
    out = pd.Series(pd.NA, index=frame.index, dtype="str")
    for column in columns:
        part = frame[column]
        out = out.where(part.isna(), (out + sep + part).fillna(part))
    return out


def tenant_facts(state: State) -> pd.DataFrame:
    """Per tenant user: the inputs of R4 and the R2 profile fields."""
    users = state.users
    skus = state.skus
    granting = set(skus.loc[~lower(skus["grants_access"]).eq("no"), "sku"])
    licenses = state.licenses
    licensed = lower(licenses.loc[isin(licenses["sku"], granting), "user_principal_name"])
    full = _join(users, ["first_name", "last_name"], " ")
    facts = pd.DataFrame(
        {
            "_key": lower(users["user_principal_name"]),
            "user_name": users["user_principal_name"],
            "full_name": full.fillna(users["display_name"]),
            "title": users["job_title"],
            "email": users["email"],
            "main_phone": users["office_phone"],
            "mobile_phone": users["mobile_phone"],
            "fax": users["fax"],
            "address": _join(users, ADDRESS_PARTS, ", "),
            "sign_in": ~lower(users["sign_in_allowed"]).eq("no"),
            "admin": users["admin_role"],
            "mode_in": users["access_mode"].fillna("read-write"),
            "application": users["user_type"].eq("application"),
        }
    )
    facts["licensed"] = isin(facts["_key"], licensed)
    # R9: unlicensed admins get access mode administrative; R10: application users are
    # non-interactive.
    admin_mode = facts["admin"].notna() & ~facts["licensed"] & facts["mode_in"].eq("read-write")
    facts["access_mode"] = facts["mode_in"].mask(admin_mode, "administrative")
    facts.loc[facts["application"].to_numpy(), "access_mode"] = "non-interactive"
    return facts


def derive_environment_users(
    state: State,
    existing: pd.DataFrame | None = None,
    *,
    sync_primary_email: bool = False,
    allow_disable_application_users: bool = False,
) -> pd.DataFrame:
    """The environment_users table for ``state``, keeping every existing one (never removed)."""
    existing = state.environment_users if existing is None else existing
    facts = tenant_facts(state)
    frames = [
        _one_environment(
            env, facts, state, existing, sync_primary_email, allow_disable_application_users
        )
        for env in state.environments.itertuples()  # a handful of environments
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return existing.iloc[0:0][list(ENV_USER_COLUMNS)]
    return pd.concat(frames, ignore_index=True)[list(ENV_USER_COLUMNS)]


def _one_environment(env, facts, state, existing, sync_email, allow_disable_apps) -> pd.DataFrame:
    group = env.security_group
    memberships = state.memberships
    if pd.isna(group):
        direct = pd.Series(True, index=facts.index)
    else:
        members = lower(memberships.loc[lower(memberships["group"]).eq(group.lower()), "member"])
        direct = isin(facts["_key"], members)
    ungrouped_admin = isin(facts["admin"], UNGROUPED_ADMINS)
    group_ok = direct | ungrouped_admin
    # R4: sign-in allowed AND (access-granting SKU OR admin OR no-license mode) AND group.
    entitled = facts["licensed"] | facts["admin"].notna() | isin(facts["mode_in"], NO_LICENSE_MODES)
    enabled = facts["sign_in"] & entitled & group_ok
    if not allow_disable_apps:  # R10: application users are enabled and never disabled
        enabled = enabled | facts["application"]
    mine = existing[existing["environment"].eq(env.name)]
    mine = mine.assign(_key=lower(mine["user_name"]))
    has_user = isin(facts["_key"], mine["_key"])
    # Every direct member, every R9 admin and every application user gets one (SPEC §3).
    derived = facts[
        (group_ok | facts["admin"].notna() | facts["application"] | has_user).to_numpy()
    ].copy()
    derived["status"] = enabled.loc[derived.index].map({True: "enabled", False: "disabled"})
    derived["user_type"] = derived["application"].map({True: "application", False: "interactive"})
    derived["environment"] = env.name
    return _merge_existing(derived, mine, sync_email)


def _merge_existing(derived: pd.DataFrame, mine: pd.DataFrame, sync_email: bool) -> pd.DataFrame:
    old = mine.set_index("_key")
    at = derived["_key"]
    known = isin(at, old.index).to_numpy()
    previous = old.reindex(at)
    # R3: primary email is set at creation and not overwritten (unless --sync-primary-email).
    email = derived["email"].to_numpy()
    derived["primary_email"] = previous["primary_email"].where(known, email).to_numpy()
    if sync_email:
        derived["primary_email"] = email
    was_disabled = previous["status"].eq("disabled").to_numpy()
    invite = known & was_disabled & derived["status"].eq("enabled").to_numpy()  # R6
    derived["invitation_required"] = (
        previous["invitation_required"].fillna("no").where(known, "no").to_numpy()
    )
    derived.loc[invite, "invitation_required"] = "yes"
    # Environment users are never removed, only disabled: stubs and users gone from the tenant.
    orphans = mine[~isin(mine["_key"], derived["_key"])].copy()
    orphans.loc[~orphans["user_type"].eq("stub"), "status"] = "disabled"
    return pd.concat([derived.drop(columns=["email"]), orphans], ignore_index=True)
