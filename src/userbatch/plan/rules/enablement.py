"""Environment users derived as a sync would (SPEC §3): R2 profile, R4 status, R9 admins,
R10 access modes. Computed for every environment from a (planned) tenant state.
The Arrow key helpers it uses live in ``plan.keys``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, text_array
from userbatch.plan.codes import GroupMembers
from userbatch.plan.concurrent import each
from userbatch.plan.keys import (
    TEXT,
    encoded,
    equal,
    first_rows,
    flags,
    fold,
    folded,
    marks,
    positions,
    repeat,
    scalar,
)
from userbatch.state.model import ENV_USER_COLUMNS, State

ADDRESS_PARTS = ("street_address", "city", "state_or_province", "postal_code", "country_or_region")
NO_LICENSE_MODES = ("administrative", "non-interactive")
UNGROUPED_ADMINS = ("Global admin", "Power Platform admin")  # R9: need not be in the group


# The derivation ------------------------------------------------------------------------
# Environment user column <- the tenant user column it copies (R2).
COPIED = {
    "user_name": "user_principal_name",
    "title": "job_title",
    "primary_email": "email",  # R3: at creation
    "main_phone": "office_phone",
    "mobile_phone": "mobile_phone",
    "fax": "fax",
}


@dataclass
class TenantFacts:
    """Per tenant user: the inputs of R4 (numpy flags), and the R2 profile fields, made
    one at a time by ``field`` so the wide ones are not all held at once."""

    users: pd.DataFrame
    sign_in: np.ndarray
    admin: np.ndarray  # any admin role (R9)
    ungrouped_admin: np.ndarray
    application: np.ndarray
    no_license_mode: np.ndarray  # R4: the access mode asked for needs no license
    licensed: np.ndarray | None = None  # holds an access-granting SKU (set by _select)

    def field(self, column: str) -> pa.Array | None:
        """The tenant's value of environment user ``column``, None where it has none."""
        users = self.users
        if column in COPIED:
            return text_array(users[COPIED[column]])
        if column == "full_name":
            joined = _join(users, ["first_name", "last_name"], " ")
            return pc.coalesce(joined, text_array(users["display_name"]))
        if column == "address":
            return _join(users, ADDRESS_PARTS, ", ")
        if column != "access_mode":
            return None
        # R9: unlicensed admins get access mode administrative; R10: application users
        # are non-interactive.
        mode = _mode_in(users)
        admin_mode = self.admin & ~self.licensed & equal(mode, "read-write")
        mode = pc.if_else(pa.array(admin_mode), scalar("administrative"), mode)
        return pc.if_else(pa.array(self.application), scalar("non-interactive"), mode)


def _join(frame: pd.DataFrame, columns, sep: str) -> pa.Array:
    """Non-empty parts joined by ``sep``; missing when every part is empty."""
    parts = [text_array(frame[c]) for c in columns]
    empty = pc.is_null(parts[0])
    for part in parts[1:]:
        empty = pc.and_(empty, pc.is_null(part))
    # Arrow's skip mode drops rows whose parts are all null: give those one "" part.
    first = pc.if_else(empty, scalar(""), parts[0])
    joined = pc.binary_join_element_wise(first, *parts[1:], scalar(sep), null_handling="skip")
    return pc.if_else(empty, pa.scalar(None, type=TEXT), joined)


def _mode_in(users: pd.DataFrame) -> pa.Array:
    return pc.fill_null(text_array(users["access_mode"]), scalar("read-write"))


def tenant_facts(state: State) -> TenantFacts:
    users = state.users
    admin = text_array(users["admin_role"])
    return TenantFacts(
        users=users,
        sign_in=~equal(folded(users["sign_in_allowed"]), "no"),
        admin=pc.is_valid(admin).to_numpy(zero_copy_only=False),
        ungrouped_admin=flags(pc.is_in(admin, value_set=pa.array(UNGROUPED_ADMINS, TEXT))),
        application=equal(text_array(users["user_type"]), "application"),
        no_license_mode=flags(
            pc.is_in(_mode_in(users), value_set=pa.array(NO_LICENSE_MODES, TEXT))
        ),
    )


@dataclass
class UserKeys:
    """The user keys a derivation matches, lower-cased and coded over one dictionary: the
    tenant users', the holders of an access-granting SKU (R4) and the existing
    environment users'. Made by ``user_keys`` (the planner makes them while the
    memberships rule runs); a group's members are coded against the same dictionary."""

    tenant: np.ndarray
    licensed: np.ndarray
    old: np.ndarray
    dictionary: pa.Array


def user_keys(state: State, existing: pd.DataFrame) -> UserKeys:
    """``UserKeys`` of ``state`` (its users, licenses and SKUs) and ``existing``: one at a
    time (they are made beside another rule, which keeps the other core busy)."""
    (tenant, licensed, old), dictionary = encoded(
        folded(state.users["user_principal_name"]),
        _licensed_keys(state),
        folded(existing["user_name"]),
    )
    return UserKeys(tenant, licensed, old, dictionary)


def _licensed_keys(state: State) -> pa.Array:
    """Lower-cased UPNs holding an access-granting SKU (R4)."""
    skus, licenses = state.skus, state.licenses
    grants = pc.invert(pc.fill_null(pc.equal(folded(skus["grants_access"]), "no"), False))
    granting = text_array(skus["sku"]).filter(grants)
    held = pc.fill_null(pc.is_in(text_array(licenses["sku"]), value_set=granting), False)
    return fold(text_array(licenses["user_principal_name"]).filter(held))


def _group_members(memberships: pd.DataFrame, groups: pd.Series) -> list[pa.Array]:
    """Per environment security group (in order, none skipped), its members lower-cased."""
    if not groups.notna().any():
        return []
    # Each column made one Arrow array once: ``text_array`` joins a chunked column's chunks.
    group_keys = folded(memberships["group"])
    member = text_array(memberships["member"])
    return [
        fold(member.filter(pc.equal(group_keys, scalar(group.lower()))))
        for group in groups.dropna()
    ]


@dataclass
class _Selection:
    """One environment's rows: tenant users at ``at`` (``previous``: each one's row in the
    existing table, -1 for a new one) and the existing ones gone from it (``orphans``)."""

    name: str
    at: np.ndarray
    enabled: np.ndarray
    previous: np.ndarray
    orphans: np.ndarray


@dataclass
class _Layout:
    """Where each output row comes from, in output order: the existing environment users
    first, in their order (each derived anew from its tenant user or, gone from the
    tenant, kept as an orphan), then the new ones, per environment in tenant order.

    ``diff.table_writes`` then pairs the existing rows in place instead of hashing them.
    ``rank``: each row's place in the derivation order (per environment its tenant users
    in tenant order, then its orphans), the table's index: rules that take the first of
    several matching users (R12 owners) go by it, so the order changes no answer."""

    env: np.ndarray  # environment (position in state.environments)
    tenant: np.ndarray  # tenant user row, -1 for an orphan
    row: np.ndarray  # existing row, -1 for a new user
    enabled: np.ndarray  # R4 (derived rows; False for orphans)
    rank: np.ndarray
    orphan: np.ndarray  # bool
    kept: int  # rows from the existing table (the first ``kept`` rows)


def derive_environment_users(
    state: State,
    existing: pd.DataFrame | None = None,
    *,
    sync_primary_email: bool = False,
    allow_disable_application_users: bool = False,
    keys: UserKeys | None = None,
    members: GroupMembers | None = None,
) -> pd.DataFrame:
    """The environment_users table for ``state``, keeping every existing one (never removed):
    the existing ones first and in their order, then the new ones (see ``_Layout``).
    ``keys``: ``user_keys(state, existing)`` when made already; ``members``: the state's
    memberships as the memberships rule coded them."""
    existing = state.environment_users if existing is None else existing
    facts = tenant_facts(state)
    keys = user_keys(state, existing) if keys is None else keys
    selections = _select(state, facts, existing, keys, members, allow_disable_application_users)
    if not any(len(s.at) or len(s.orphans) for s in selections):
        return existing.iloc[0:0][list(ENV_USER_COLUMNS)]
    layout = _layout(selections)
    names = pa.array([s.name for s in selections], type=TEXT)
    # Positions first, then the table column by column, two at a time: its peak memory is
    # the table plus two columns' parts.
    made = each(
        lambda c: as_series(_column(c, layout, names, facts, existing, sync_primary_email)),
        ENV_USER_COLUMNS,
    )
    columns = dict(zip(ENV_USER_COLUMNS, made, strict=True))
    return pd.DataFrame(columns).set_axis(pd.Index(layout.rank), axis=0)


def _layout(selections: list[_Selection]) -> _Layout:
    parts = {"env": [], "tenant": [], "row": [], "enabled": [], "rank": []}
    base = 0
    for e, s in enumerate(selections):
        n, m = len(s.at), len(s.orphans)
        parts["env"].append(np.full(n + m, e, dtype=np.int64))
        parts["tenant"] += [s.at, np.full(m, -1, dtype=np.int64)]
        parts["row"] += [s.previous, s.orphans]
        parts["enabled"] += [s.enabled, np.zeros(m, dtype=bool)]
        parts["rank"].append(np.arange(base, base + n + m, dtype=np.int64))
        base += n + m
    env, tenant, row, enabled, rank = (np.concatenate(parts[k]) for k in parts)
    # Existing rows by their row (stable: two tenant users folding to one key keep their
    # order), then the new ones in derivation order.
    old = np.flatnonzero(row >= 0)
    order = np.concatenate([old[np.argsort(row[old], kind="stable")], np.flatnonzero(row < 0)])
    tenant = tenant[order]
    return _Layout(
        env[order], tenant, row[order], enabled[order], rank[order], tenant < 0, len(old)
    )


def _select(
    state, facts, existing, keys: UserKeys, members: GroupMembers | None, allow_disable_apps
) -> list[_Selection]:
    groups = state.environments["security_group"]
    tenant, licensed, old = keys.tenant, keys.licensed, keys.old
    # A member is its position in the keys' dictionary; one absent from it is len(it).
    size = len(keys.dictionary) + 1
    if members is not None:  # a planned user's code is the tenant's code at its position
        member_codes = [tenant[members.users_of(group)] for group in groups.dropna()]
    else:
        member_codes = [
            positions(found, keys.dictionary) for found in _group_members(state.memberships, groups)
        ]
    facts.licensed = marks(licensed, size)[tenant]
    # R4: sign-in allowed AND (access-granting SKU OR admin OR no-license mode) AND group.
    entitled = facts.licensed | facts.admin | facts.no_license_mode
    old_env = text_array(existing["environment"])
    selections = []
    member_codes = iter(member_codes)
    for env in state.environments.itertuples():  # a handful of environments
        if pd.isna(env.security_group):
            direct = np.ones(len(tenant), dtype=bool)
        else:
            direct = marks(next(member_codes), size)[tenant]
        group_ok = direct | facts.ungrouped_admin
        enabled = facts.sign_in & entitled & group_ok
        if not allow_disable_apps:  # R10: application users are enabled and never disabled
            enabled = enabled | facts.application
        mine = np.flatnonzero(equal(old_env, env.name))
        has_user = marks(old[mine], size)[tenant]
        # Every direct member, every R9 admin and every application user gets one (SPEC §3).
        at = np.flatnonzero(group_ok | facts.admin | facts.application | has_user)
        previous = first_rows(old[mine], size)[tenant[at]]
        known = previous >= 0
        previous[known] = mine[previous[known]]
        # Environment users are never removed, only disabled: stubs and users gone from
        # the tenant.
        orphans = mine[~marks(tenant[at], size)[old[mine]]]
        selections.append(_Selection(env.name, at, enabled[at], previous, orphans))
    return selections


def _column(column, layout: _Layout, names, facts, existing, sync_email) -> pa.Array:
    """One column in output order: derived rows from the tenant, orphans as they were."""
    kept, tenant, row = layout.kept, layout.tenant, layout.row
    if column == "environment":
        return names.take(pa.array(layout.env))
    if column == "user_type":
        application = np.zeros(len(tenant), dtype=bool)
        application[~layout.orphan] = facts.application[tenant[~layout.orphan]]
        derived = pc.if_else(pa.array(application), scalar("application"), scalar("interactive"))
        return _with_orphans(derived, column, layout, existing)
    if column == "status":
        derived = pc.if_else(pa.array(layout.enabled), scalar("enabled"), scalar("disabled"))
        return _with_orphans(derived, column, layout, existing)
    if column == "primary_email" and not sync_email and kept:
        # R3: primary email is set at creation and not overwritten (unless
        # --sync-primary-email): the existing rows keep theirs, orphans too.
        new = facts.field(column).take(pa.array(tenant[kept:]))
        return pa.concat_arrays([_old(existing, column, row[:kept]), new])
    if column == "invitation_required":
        return _invitation(layout, existing)
    field = facts.field(column)
    if not layout.orphan.any():
        return field.take(pa.array(tenant))
    derived = field.take(pa.array(tenant, mask=layout.orphan))
    return pc.if_else(pa.array(layout.orphan), _old_at(existing, column, row), derived)


def _old(existing, column, rows: np.ndarray) -> pa.Array:
    """Existing ``column`` at ``rows``, without a copy when they are the whole table."""
    values = text_array(existing[column])
    if len(rows) == len(values) and (rows == np.arange(len(rows))).all():
        return values
    return values.take(pa.array(rows))


def _old_at(existing, column, row: np.ndarray) -> pa.Array:
    """Existing ``column`` at ``row`` (every output row; -1: new, missing)."""
    kept = int((row >= 0).sum())
    old = _old(existing, column, row[:kept])
    return pa.concat_arrays([old, pa.nulls(len(row) - kept, TEXT)])


def _with_orphans(derived: pa.Array, column, layout: _Layout, existing) -> pa.Array:
    """``derived`` with the orphans' cells as they were (status: R4 disables the users gone
    from the tenant, never a stub)."""
    if not layout.orphan.any():
        return derived
    old = _old_at(existing, column, layout.row)
    if column == "status":
        stub = equal(_old_at(existing, "user_type", layout.row), "stub")
        old = pc.if_else(pa.array(stub), old, scalar("disabled"))
    return pc.if_else(pa.array(layout.orphan), old, derived)


def _invitation(layout: _Layout, existing) -> pa.Array:
    """R6: a known user keeps its flag (missing: no) unless enabled again (yes); a new one
    needs none; an orphan keeps its cell as it is."""
    kept, row = layout.kept, layout.row
    if not kept:
        return repeat("no", len(row))
    old = _old(existing, "invitation_required", row[:kept])
    was_disabled = equal(_old(existing, "status", row[:kept]), "disabled")
    known = ~layout.orphan[:kept]
    invite = known & was_disabled & layout.enabled[:kept]
    kept_flag = pc.if_else(pa.array(known), pc.fill_null(old, scalar("no")), old)
    kept_flag = pc.if_else(pa.array(invite), scalar("yes"), kept_flag)
    return pa.concat_arrays([kept_flag, repeat("no", len(row) - kept)])
