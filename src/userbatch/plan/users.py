"""Tenant users: upsert, disable, delete (SPEC §2 actions), unverified_domain, R7, R13.

The users frame is wide (~29 columns): rules work on narrow rows (key columns and ``_pos``,
the row's position in the kind frame) and each value column is gathered once, as Arrow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, rows_where, text_array
from userbatch.plan.concurrent import each
from userbatch.plan.context import Context, lower
from userbatch.plan.jsoncol import LazyJson, json_arrays, json_objects
from userbatch.state.model import TENANT_USER_COLUMNS
from userbatch.vocabulary import CLEAR

FIELDS = [c for c in TENANT_USER_COLUMNS if c != "user_principal_name"]
# What rules, problems and changes read from a row; value columns are gathered by _pos.
ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "user_principal_name", "action", "key", "_row",
)  # fmt: skip


@dataclass
class TenantPlan:
    users: pd.DataFrame  # planned tenant users, with _key
    license_removals: pd.DataFrame | None = None  # derived by delete/disable: _key, sku, rows
    membership_removals: pd.DataFrame | None = None  # derived: group, member, rows
    reassign_stubs: pd.DataFrame | None = None  # R13 with --reassign-stub-records


def _first_positions(keys: pd.Series, candidates: pd.Series) -> np.ndarray:
    """Where each key first occurs in ``candidates``; -1 where it does not."""
    found = pc.index_in(text_array(keys), value_set=text_array(candidates))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def plan_users(ctx: Context) -> TenantPlan:
    current = ctx.state.users
    keys = lower(current["user_principal_name"])
    rows, pending = ctx.pending_rows("users", ROW_COLUMNS)
    at = _first_positions(rows["key"], keys)
    action = rows["action"]
    upsert = pending & action.eq("upsert").to_numpy()
    creates, reassign = _check_creates(ctx, rows_where(rows, upsert & (at < 0)))
    updates, at_updates = rows_where(rows, upsert & (at >= 0)), at[upsert & (at >= 0)]
    frame = ctx.frames["users"]
    base = {c: text_array(current[c]) for c in current.columns}
    where = pa.array(at_updates)
    old = dict(zip(FIELDS, each(lambda f: base[f].take(where), FIELDS), strict=True))
    inputs_updated, inputs_created = _gather(frame, updates, creates)
    updated = _updates(ctx, updates, old, inputs_updated)
    created = _new_users(ctx, creates, inputs_created)
    users = _planned(base, text_array(keys), at_updates, updated, creates["key"], created)
    tenant = TenantPlan(users=users, reassign_stubs=reassign)
    disable = pending & action.eq("disable").to_numpy()
    _refuse_missing_disables(ctx, rows_where(rows, disable & (at < 0)))
    _delete(ctx, tenant, rows_where(rows, pending & action.eq("delete").to_numpy()), current)
    _disable(ctx, tenant, rows_where(rows, disable & (at >= 0)))
    return tenant


def _gather(frame: pd.DataFrame, *parts: pd.DataFrame) -> list[dict]:
    """The input values of every field for each of ``parts`` (rows): a column read in
    blocks is many chunks, joined once here for all parts (each take would join them)."""
    at = [pa.array(rows["_pos"].to_numpy()) for rows in parts]

    def field(f: str) -> list[pa.Array]:
        if f not in frame.columns:
            return [pa.nulls(len(where), pa.large_string()) for where in at]
        column = text_array(frame[f])
        return [column.take(where) for where in at]

    by_field = each(field, FIELDS)
    return [
        {f: values[i] for f, values in zip(FIELDS, by_field, strict=True)} for i in range(len(at))
    ]


def _stub_owner_counts(ctx: Context) -> pd.Series:
    env_users = ctx.state.environment_users
    stubs = lower(env_users.loc[env_users["user_type"].eq("stub"), "user_name"])
    owners = lower(ctx.state.records["owner"])
    return owners[isin(owners, stubs)].value_counts().reindex(stubs.unique(), fill_value=0)


def _domain(keys: pd.Series) -> pd.Series:
    """The text after the last ``@`` (all of it without one), by one Arrow regex pass."""
    after = pc.replace_substring_regex(text_array(keys), r"(?s)^.*@", "")
    return as_series(after, keys.index)


def _verified(keys: pd.Series, domains: set[str]) -> np.ndarray:
    """Whether the text after a key's last ``@`` is one of ``domains``: a suffix test per
    domain, far cheaper than cutting every key at its ``@``. (A domain holding ``@`` can
    never be that text.)"""
    array = text_array(keys)
    verified = np.zeros(len(array), bool)
    for domain in domains - {d for d in domains if "@" in d}:
        suffix = pc.ends_with(array, "@" + domain)
        verified |= pc.fill_null(pc.or_(suffix, pc.equal(array, domain)), False).to_numpy(
            zero_copy_only=False
        )
    return verified


def _check_creates(ctx: Context, creates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Creates that pass unverified_domain and R13, and those that take over a stub."""
    domains = set(lower(ctx.state.domains["domain"]).dropna())
    if domains:
        verified = _verified(creates["key"], domains)
        bad = creates[~verified]
        ctx.refuse(
            "users", bad, rule="unverified_domain", column="user_principal_name",
            message=bad["user_principal_name"] + ": the domain " + _domain(bad["key"])
            + " is not a verified domain of the tenant",
        )  # fmt: skip
        if not verified.all():  # (a filter copies every column, even keeping every row)
            creates = creates[verified]
    # R13: a real user whose UPN is a stub's user name.
    stubs = _stub_owner_counts(ctx)
    stub = isin(creates["key"], stubs.index).to_numpy()
    conflict = creates[stub]
    if not conflict.empty and not ctx.options.reassign_stub_records:
        counts = conflict["key"].map(stubs).astype("int64").astype("str")
        ctx.refuse(
            "users", conflict, rule="R13", column="user_principal_name",
            message="stub_conflict: " + counts + " records are owned by the stub user "
            + conflict["user_principal_name"]
            + "; rerun with --reassign-stub-records to move them to the new user",
        )  # fmt: skip
        return creates[~stub], conflict.iloc[0:0]
    return creates, conflict


def _value(inp: pa.Array, old: pa.Array | None = None) -> pa.Array:
    """A blank cell keeps the stored value; ``(clear)`` empties it. Each step is skipped
    where it changes nothing (no blanks, no ``(clear)``): the input array is kept as is."""
    kept = inp if old is None or not inp.null_count else pc.coalesce(inp, old)
    clear = pc.fill_null(pc.equal(inp, pa.scalar(CLEAR, inp.type)), False)
    if not pc.any(clear).as_py():
        return kept
    return pc.if_else(clear, pa.scalar(None, inp.type), kept)


def _differs(new: pa.Array, old: pa.Array) -> np.ndarray:
    """Where a value changes; missing equals missing."""
    equal = pc.fill_null(pc.equal(new, old), False).to_numpy(zero_copy_only=False)
    both_missing = pc.and_(pc.is_null(new), pc.is_null(old)).to_numpy(zero_copy_only=False)
    return ~(equal | both_missing)


def _updates(ctx: Context, rows: pd.DataFrame, old: dict, inputs: dict) -> dict:
    """The upserts' new values of current users and where they change them, by field
    (update_user lists the changed fields)."""
    new = dict(zip(FIELDS, each(lambda f: _value(inputs[f], old[f]), FIELDS), strict=True))
    changed = each(lambda f: _differs(new[f], old[f]), FIELDS)
    touched = np.logical_or.reduce(changed) if changed else np.zeros(len(rows), bool)
    if touched.any():
        pick = pa.array(np.flatnonzero(touched))
        include = [c[touched] for c in changed]
        index = rows.index[touched]
        ctx.changes.add(
            change="update_user", entity="user", key=rows["key"][touched], kind="users",
            before=as_series(json_arrays(FIELDS, [old[f].take(pick) for f in FIELDS], include), index),
            after=as_series(json_arrays(FIELDS, [new[f].take(pick) for f in FIELDS], include), index),
            rows=rows_where(rows, touched),
        )  # fmt: skip
    return {f: (new[f], c) for f, c in zip(FIELDS, changed, strict=True)}


def _new_users(ctx: Context, creates: pd.DataFrame, inputs: dict) -> dict:
    new = {"user_principal_name": text_array(creates["user_principal_name"])}
    new.update({f: _value(inputs[f]) for f in FIELDS})
    present = list(TENANT_USER_COLUMNS)
    # The JSON is made as it is written, from these same arrays (the planned users' new rows).
    after = LazyJson(tuple(present), tuple(new[c] for c in present))
    ctx.changes.add(
        change="create_user", entity="user", key=creates["key"], kind="users", rule="R1",
        after=after, rows=creates,
    )  # fmt: skip
    return new


def _planned(base: dict, keys: pa.Array, at, updated: dict, create_keys, created: dict):
    """The current users with the changed values in place, then the new users.

    Only changed cells are replaced (a column no upsert changes is the stored array as
    is), and the new users are a second chunk, not a copy: setting rows of a wide frame
    in place and concatenating cost ~0.1 s a column at 300k users."""
    columns = {}
    for column, array in {**base, "_key": keys}.items():
        extra = text_array(create_keys) if column == "_key" else created.get(column)
        if extra is None:
            extra = pa.nulls(len(create_keys), array.type)
        if column in updated:
            array = _replaced(array, at, *updated[column])
        series = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([array, extra])))
        columns[column] = series.astype("str")
    return pd.DataFrame(columns, copy=False)


def _replaced(array: pa.Array, at: np.ndarray, values: pa.Array, changed: np.ndarray) -> pa.Array:
    """``array`` with ``values`` at positions ``at`` where ``changed`` (the last of
    repeated positions wins, as in row-by-row assignment)."""
    if not changed.any():
        return array
    rows = np.flatnonzero(changed)
    order = np.argsort(at[rows], kind="stable")
    rows, where = rows[order], at[rows][order]
    last = np.append(where[1:] != where[:-1], True)
    mask = np.zeros(len(array), bool)
    mask[where[last]] = True
    return pc.replace_with_mask(array, pa.array(mask), values.take(pa.array(rows[last])))


def _refuse_missing_disables(ctx: Context, rows: pd.DataFrame) -> None:
    ctx.refuse(
        "users", rows, rule="unknown_user", column="user_principal_name",
        message=rows["user_principal_name"] + " is not a user of the tenant; nothing to disable",
    )  # fmt: skip


def _delete(ctx: Context, tenant: TenantPlan, rows: pd.DataFrame, current: pd.DataFrame) -> None:
    licenses, memberships = ctx.state.licenses, ctx.state.memberships
    if rows.empty:  # the usual run: spare the scans of the planned users and the seats
        rows, licenses, memberships = rows.set_index("key"), licenses[:0], memberships[:0]
        tenant.license_removals = _with_origin(licenses, licenses["user_principal_name"], rows)
        tenant.membership_removals = _with_origin(memberships, memberships["member"], rows)
        return
    present = rows[isin(rows["key"], lower(current["user_principal_name"])).to_numpy()]
    absent = rows[~rows.index.isin(present.index)]
    ctx.note(
        "users", absent, rule="delete", level="info",
        message=absent["user_principal_name"] + " is already absent from the tenant",
    )  # fmt: skip
    gone = isin(tenant.users["_key"], present["key"]).to_numpy()
    names = tenant.users.loc[gone, ["_key", "display_name"]].set_index("_key")
    ctx.changes.add(
        change="delete_user", entity="user", key=present["key"], kind="users",
        before=json_objects(names.loc[present["key"]], ["display_name"]).set_axis(present.index),
        rows=present,
    )  # fmt: skip
    if gone.any():
        tenant.users = tenant.users[~gone].reset_index(drop=True)
    by_key = present.set_index("key")
    # R7: deleting a tenant user frees all its seats and ends its memberships.
    freed = licenses[isin(lower(licenses["user_principal_name"]), present["key"])]
    tenant.license_removals = _with_origin(freed, lower(freed["user_principal_name"]), by_key)
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
