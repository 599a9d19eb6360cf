"""Tenant users: upsert, disable, delete (SPEC §2 actions), unverified_domain, R7, R13."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin
from userbatch.plan.context import Context, lower
from userbatch.plan.jsoncol import json_objects
from userbatch.state.model import TENANT_USER_COLUMNS
from userbatch.vocabulary import CLEAR

FIELDS = [c for c in TENANT_USER_COLUMNS if c != "user_principal_name"]


@dataclass
class TenantPlan:
    users: pd.DataFrame  # planned tenant users, with _key
    license_removals: pd.DataFrame | None = None  # derived by delete/disable: _key, sku, rows
    membership_removals: pd.DataFrame | None = None  # derived: group, member, rows
    reassign_stubs: pd.DataFrame | None = None  # R13 with --reassign-stub-records


def plan_users(ctx: Context) -> TenantPlan:
    current = ctx.state.users.assign(_key=lower(ctx.state.users["user_principal_name"]))
    rows = ctx.pending("users")
    exists = isin(rows["key"], current["_key"]).to_numpy()
    upserts = rows[rows["action"].eq("upsert").to_numpy()]
    creates, reassign = _check_creates(ctx, upserts[~isin(upserts["key"], current["_key"])])
    updated = _updates(ctx, upserts[isin(upserts["key"], current["_key"])], current)
    new_users = _new_users(ctx, creates)
    planned = pd.concat([updated, new_users], ignore_index=True)
    tenant = TenantPlan(users=planned, reassign_stubs=reassign)
    disables = rows[rows["action"].eq("disable").to_numpy() & exists]
    deletes = rows[rows["action"].eq("delete").to_numpy()]
    _refuse_missing_disables(ctx, rows[rows["action"].eq("disable").to_numpy() & ~exists])
    _delete(ctx, tenant, deletes, current)
    _disable(ctx, tenant, disables)
    return tenant


def _stub_owner_counts(ctx: Context) -> pd.Series:
    env_users = ctx.state.environment_users
    stubs = lower(env_users.loc[env_users["user_type"].eq("stub"), "user_name"])
    owners = lower(ctx.state.records["owner"])
    return owners[isin(owners, stubs)].value_counts().reindex(stubs.unique(), fill_value=0)


def _domain(keys: pd.Series) -> pd.Series:
    """The text after the last ``@`` (all of it without one), by one Arrow regex pass:
    ``str.split("@").str[-1]`` splits in Python per row."""
    array = pa.array(keys.astype("str"), from_pandas=True)
    after = pc.replace_substring_regex(array, r"(?s)^.*@", "").to_pandas()
    after.index = keys.index
    return after.astype("str").astype(object)  # the dtype split gave


def _check_creates(ctx: Context, creates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Creates that pass unverified_domain and R13, and those that take over a stub."""
    domains = set(lower(ctx.state.domains["domain"]).dropna())
    if domains:
        domain = _domain(creates["key"])
        bad = creates[~isin(domain, domains).to_numpy()]
        ctx.refuse(
            "users", bad, rule="unverified_domain", column="user_principal_name",
            message=bad["user_principal_name"] + ": the domain " + domain.loc[bad.index]
            + " is not a verified domain of the tenant",
        )  # fmt: skip
        creates = creates.drop(bad.index)
    # R13: a real user whose UPN is a stub's user name.
    stubs = _stub_owner_counts(ctx)
    conflict = creates[isin(creates["key"], stubs.index).to_numpy()]
    if not conflict.empty and not ctx.options.reassign_stub_records:
        counts = conflict["key"].map(stubs).astype("int64").astype("str")
        ctx.refuse(
            "users", conflict, rule="R13", column="user_principal_name",
            message="stub_conflict: " + counts + " records are owned by the stub user "
            + conflict["user_principal_name"]
            + "; rerun with --reassign-stub-records to move them to the new user",
        )  # fmt: skip
        return creates.drop(conflict.index), conflict.iloc[0:0]
    return creates, conflict


def _value(inp: pd.Series, old: pd.Series | None) -> pd.Series:
    """A blank cell keeps the stored value; ``(clear)`` empties it."""
    new = inp if old is None else inp.where(inp.notna(), old)
    return new.mask(inp.eq(CLEAR).fillna(False), pd.NA).astype("str")


def _updates(ctx: Context, rows: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Planned users: the current ones with the input's upserts applied (update_user)."""
    position = pd.Series(range(len(current)), index=current["_key"])
    at = position.loc[rows["key"]].to_numpy()
    old = current.iloc[at].reset_index(drop=True)
    new = old.copy()
    for column in FIELDS:
        new[column] = _value(rows[column].reset_index(drop=True), old[column])
    same = new[FIELDS].eq(old[FIELDS]).fillna(False) | (new[FIELDS].isna() & old[FIELDS].isna())
    changed = ~same
    touched = changed.any(axis=1).to_numpy()
    if touched.any():
        ctx.changes.add(
            change="update_user", entity="user", key=rows["key"][touched], kind="users",
            before=json_objects(old[touched], FIELDS, changed[touched]).set_axis(rows.index[touched]),
            after=json_objects(new[touched], FIELDS, changed[touched]).set_axis(rows.index[touched]),
            rows=rows[touched],
        )  # fmt: skip
    planned = current.copy()
    planned.iloc[at, [planned.columns.get_loc(c) for c in FIELDS]] = new[FIELDS].to_numpy()
    return planned


def _new_users(ctx: Context, creates: pd.DataFrame) -> pd.DataFrame:
    new = pd.DataFrame({"user_principal_name": creates["user_principal_name"]})
    for column in FIELDS:
        new[column] = _value(creates[column], None)
    new["_key"] = creates["key"]
    present = [c for c in TENANT_USER_COLUMNS]
    ctx.changes.add(
        change="create_user", entity="user", key=creates["key"], kind="users", rule="R1",
        after=json_objects(new, present, new[present].notna()), rows=creates,
    )  # fmt: skip
    return new.reset_index(drop=True)


def _refuse_missing_disables(ctx: Context, rows: pd.DataFrame) -> None:
    ctx.refuse(
        "users", rows, rule="unknown_user", column="user_principal_name",
        message=rows["user_principal_name"] + " is not a user of the tenant; nothing to disable",
    )  # fmt: skip


def _delete(ctx: Context, tenant: TenantPlan, rows: pd.DataFrame, current: pd.DataFrame) -> None:
    present = rows[isin(rows["key"], current["_key"]).to_numpy()]
    absent = rows.drop(present.index)
    ctx.note(
        "users", absent, rule="delete", level="info",
        message=absent["user_principal_name"] + " is already absent from the tenant",
    )  # fmt: skip
    gone = tenant.users[isin(tenant.users["_key"], present["key"])]
    ctx.changes.add(
        change="delete_user", entity="user", key=present["key"], kind="users",
        before=json_objects(gone.set_index("_key").loc[present["key"]], ["display_name"])
        .set_axis(present.index),
        rows=present,
    )  # fmt: skip
    tenant.users = tenant.users[~isin(tenant.users["_key"], present["key"])].reset_index(drop=True)
    by_key = present.set_index("key")
    # R7: deleting a tenant user frees all its seats and ends its memberships.
    licenses = ctx.state.licenses
    freed = licenses[isin(lower(licenses["user_principal_name"]), present["key"])]
    tenant.license_removals = _with_origin(freed, lower(freed["user_principal_name"]), by_key)
    memberships = ctx.state.memberships
    ended = memberships[isin(lower(memberships["member"]), present["key"])]
    tenant.membership_removals = _with_origin(ended, lower(ended["member"]), by_key)


def _with_origin(frame: pd.DataFrame, keys: pd.Series, by_key: pd.DataFrame | None) -> pd.DataFrame:
    """Removals tagged with the users rows they come from (none for mirror mode)."""
    if by_key is None:
        return frame.assign(source_file=None, source_row=None, _row=None, _kind=None)
    origin = by_key.loc[keys, ["source_file", "source_row", "_row"]].set_axis(frame.index)
    return pd.concat([frame, origin], axis=1).assign(_kind="users")


def remove_access(
    ctx: Context, tenant: TenantPlan, keys: pd.Series, env: str, by_key: pd.DataFrame | None
) -> tuple[str | None, pd.DataFrame]:
    """R7: take users (lower-cased UPNs) out of ``env``'s security group; where it has none,
    or with --release-licenses, also remove their licenses. Returns (group, licenses held)."""
    group = ctx.environments.set_index("name").loc[env, "security_group"]
    licenses = ctx.state.licenses
    held = licenses[isin(lower(licenses["user_principal_name"]), keys)]
    if pd.isna(group) or ctx.options.release_licenses:
        freed = _with_origin(held, lower(held["user_principal_name"]), by_key)
        tenant.license_removals = pd.concat([tenant.license_removals, freed])
    if pd.isna(group):
        return None, held
    memberships = ctx.state.memberships
    direct = memberships[
        lower(memberships["group"]).eq(group.lower()) & isin(lower(memberships["member"]), keys)
    ]
    ended = _with_origin(direct, lower(direct["member"]), by_key)
    tenant.membership_removals = pd.concat([tenant.membership_removals, ended])
    return group, held


def _disable(ctx: Context, tenant: TenantPlan, rows: pd.DataFrame) -> None:
    """R7: disable by removing from the environment's security group (seat kept, warned)."""
    if rows.empty:
        return
    env = ctx.default_environment("a users row with action disable")
    group, held = remove_access(ctx, tenant, rows["key"], env, rows.set_index("key"))
    if group is None:
        ctx.note(
            "users", rows, rule="R7",
            message=f"{env} has no security group: disabled by removing the user's licenses",
        )  # fmt: skip
        return
    if not ctx.options.release_licenses:
        seats = held.groupby(lower(held["user_principal_name"]))["sku"].agg(", ".join)
        keeps = rows[isin(rows["key"], seats.index).to_numpy()]
        ctx.note(
            "users", keeps, rule="R7",
            message="removed from " + group + "; it keeps its seat of "
            + keeps["key"].map(seats) + " until the license is removed",
        )  # fmt: skip
