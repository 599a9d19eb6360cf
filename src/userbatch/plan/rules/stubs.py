"""Imported records and their owners: R12 stub users, R13 stub conflicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, release_memory, text_array
from userbatch.plan.context import Context, env_user_key, lower
from userbatch.plan.jsoncol import json_objects
from userbatch.plan.keys import (
    encode,
    first_match,
    flags,
    fold,
    folded,
    gather,
    joined,
    positions,
)
from userbatch.state.model import TABLES
from userbatch.vocabulary import COLUMNS, ROW_META_COLUMNS, STUB_ROLE

RECORD_BASE = {*COLUMNS["records"], *ROW_META_COLUMNS} | {"_row", "_env"}


def _owner_codes(rows: pd.DataFrame, env_users: pd.DataFrame, columns) -> tuple:
    """(probe, candidates, {column: codes}): ``environment|owner`` of each row as a code,
    numbered by the rows' (few) owners; the environment users whose value in one of
    ``columns`` is some row's owner, in the order their first match is taken (the table's
    index, see ``derive_environment_users``); and their ``environment|value`` codes there
    (-1 where missing or no row's owner)."""
    owners = pc.dictionary_encode(folded(rows["owner"]), null_encoding="encode")
    size = len(owners.dictionary) + 1
    envs = pc.unique(text_array(env_users["environment"]))
    probe = positions(text_array(rows["_env"]), envs) * size + owners.indices.to_numpy().astype(
        np.int64
    )
    users = {}
    for column in columns:
        values = text_array(env_users[column])
        user = positions(fold(values), owners.dictionary)
        users[column] = np.where(flags(pc.is_valid(values)), user, size - 1)
    hit = np.flatnonzero(np.logical_or.reduce([u < size - 1 for u in users.values()]))
    rank = env_users.index
    if not (isinstance(rank, pd.RangeIndex) and rank.step > 0):
        hit = hit[np.argsort(rank.to_numpy()[hit], kind="stable")]
    env = positions(text_array(env_users["environment"]).take(pa.array(hit)), envs) * size
    codes = {c: np.where(u[hit] < size - 1, env + u[hit], -1) for c, u in users.items()}
    return probe, hit, codes


def match_owners(rows: pd.DataFrame, env_users: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """R12: owners match by user name, then primary email, then full name (case-insensitive);
    of several users with the match, the first in the table's index order.

    Returns (matched user_name or missing, number of full-name matches).
    """
    probe, hit, codes = _owner_codes(rows, env_users, ("user_name", "primary_email", "full_name"))
    found = np.full(len(rows), -1)
    for column in ("user_name", "primary_email"):
        found = np.where(found < 0, first_match(probe, codes[column]), found)
    names = codes["full_name"]
    count = np.zeros(len(rows), dtype=np.int64)
    if len(names):
        named = names[names >= 0]
        counts = np.bincount(named, minlength=int(probe.max(initial=0)) + 1)
        count = np.where(probe < len(counts), counts[np.minimum(probe, len(counts) - 1)], 0)
        # A full name matches only when one user has it.
        unique = first_match(probe, names)
        found = np.where((found < 0) & (count == 1), unique, found)
    row = np.full(len(rows), -1, dtype=np.int64)
    row[found >= 0] = hit[found[found >= 0]]
    owner = gather(text_array(env_users["user_name"]), row)
    count = np.where(found >= 0, 0, count)
    return as_series(owner, rows.index), pd.Series(count, index=rows.index)


def plan_records(
    ctx: Context, env_users: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Planned (records, new stubs as environment users, stub default roles); the planned
    environment users are ``with_stubs(env_users, stubs)``."""
    rows = ctx.resolve_environments("records", ctx.pending("records"))
    owner, full_name_hits = match_owners(rows, env_users)
    release_memory()  # the owner matching's folded columns (roles are planned beside this)
    rows = rows.assign(_owner=owner)
    rows = _r12_ambiguous(ctx, rows, full_name_hits, env_users)
    # A record whose owner row failed is skipped, not stubbed.
    failed = rows["_owner"].isna().to_numpy().copy()
    if failed.any():
        failed &= flags(pc.is_in(folded(rows["owner"]), value_set=_failed_user_keys(ctx)))
    failed = pd.Series(failed, index=rows.index)
    ctx.refuse(
        "records", rows[failed.to_numpy()], rule="R12", outcome="skipped", level="warning",
        column="owner", message="skipped: the users row of owner " + rows.loc[failed, "owner"] + " did not pass",
    )  # fmt: skip
    rows = rows[~failed.to_numpy()]
    stubs, stub_of = _new_stubs(ctx, rows)
    if len(stubs):
        owners = pc.coalesce(
            text_array(rows["_owner"]), text_array(stubs["user_name"]).take(pa.array(stub_of))
        )
        rows = rows.assign(_owner=as_series(owners, rows.index))
    records = _assign(ctx, rows)
    stub_roles = _stub_roles(ctx, stubs)
    return records, stubs, stub_roles


def _failed_user_keys(ctx: Context) -> pa.Array:
    """``ctx.failed_user_keys()`` from the two columns it needs (no filter of the wide
    users frame)."""
    users = ctx.frames["users"]
    failed = pa.array(["invalid", "failed"], type=pa.large_string())
    bad = flags(pc.is_in(text_array(users["outcome"]), value_set=failed))
    return pc.drop_null(fold(text_array(users["user_principal_name"]).filter(pa.array(bad))))


def with_stubs(env_users: pd.DataFrame, stubs: pd.DataFrame) -> pd.DataFrame:
    """The environment users and the new stubs as one table of one Arrow chunk per column:
    copied once here, where ``pd.concat`` would leave two chunks that every later look-up
    (diff, R3, R8) would copy into one again."""
    if stubs.empty:  # a fresh index: the derivation order stays with the rules above
        return env_users.reset_index(drop=True)
    return pd.DataFrame(
        {
            c: as_series(pa.concat_arrays([text_array(env_users[c]), text_array(stubs[c])]))
            for c in stubs
        }
    )


def _r12_ambiguous(ctx, rows, hits, env_users) -> pd.DataFrame:
    ambiguous = rows[(hits > 1).to_numpy()]
    if ambiguous.empty:
        return rows
    if ctx.options.default_owner:
        fallback = ambiguous.assign(owner=ctx.options.default_owner)
        owner, _ = match_owners(fallback, env_users)
        rows.loc[ambiguous.index, "_owner"] = owner
        ctx.note(
            "records", ambiguous[owner.notna().to_numpy()], rule="R12", column="owner",
            message="owner " + ambiguous["owner"] + " matches " + hits.loc[ambiguous.index].astype("str")
            + f" users by full name; assigned to --default-owner {ctx.options.default_owner}",
        )  # fmt: skip
        ambiguous = ambiguous[owner.isna().to_numpy()]
    ctx.refuse(
        "records", ambiguous, rule="R12", column="owner",
        message="owner " + ambiguous["owner"] + " is ambiguous: it matches "
        + hits.loc[ambiguous.index].astype("str") + " users by full name; name the user by UPN or "
        "pass --default-owner",
    )  # fmt: skip
    return rows.drop(ambiguous.index)


def _new_stubs(ctx: Context, rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """R12: one stub per (environment, trimmed case-folded owner), named as first written.
    Also each row's stub (position), for the rows without an owner."""
    unmatched = np.flatnonzero(rows["_owner"].isna().to_numpy())
    (codes,), _ = encode(
        joined(text_array(rows["_env"]), folded(rows["owner"])).take(pa.array(unmatched))
    )
    same = first_match(codes, codes)  # each unmatched row's first one with its key
    leaders = np.unique(same)
    first = unmatched[leaders]
    firsts_rows = rows.iloc[first]
    owner = firsts_rows["owner"].str.strip()
    missing = pd.Series(pd.NA, index=firsts_rows.index, dtype="str")
    stubs = pd.DataFrame(
        {
            "environment": firsts_rows["_env"], "user_name": owner, "full_name": owner,
            "title": missing, "primary_email": owner.where(owner.str.contains("@", regex=False)),
            "main_phone": missing, "mobile_phone": missing, "fax": missing, "address": missing,
            "access_mode": missing, "user_type": "stub", "status": "disabled",
            "invitation_required": "no",
        }
    ).astype("str")[list(TABLES["environment_users"][0])]  # fmt: skip
    ctx.changes.add(
        change="create_stub", entity="stub", key=stubs["user_name"], environment=stubs["environment"],
        rule="R12", after=json_objects(stubs, ["user_name", "full_name", "primary_email", "status"]),
        rows=firsts_rows, kind="records",
    )  # fmt: skip
    # Row -> its stub: the stubs are numbered in the order of their first rows.
    stub_of = np.zeros(len(rows), dtype=np.int64)
    stub_of[unmatched] = np.searchsorted(leaders, same)
    return stubs.reset_index(drop=True), stub_of


def _stub_roles(ctx: Context, stubs: pd.DataFrame) -> pd.DataFrame:
    """R12: Salesperson in a dynamics365 environment, Basic User in a powerapps one."""
    kinds = stubs["environment"].map(ctx.env_kind())
    roles = pd.DataFrame(
        {
            "environment": stubs["environment"],
            "user_principal_name": lower(stubs["user_name"]),
            "role": kinds.map(STUB_ROLE).astype("str"),
        }
    )
    ctx.changes.add(
        change="assign_role", entity="role", rule="R12", environment=roles["environment"],
        key=roles["environment"] + "|" + roles["user_principal_name"] + "|" + roles["role"],
        after=json_objects(roles, ["environment", "user_principal_name", "role"]),
    )  # fmt: skip
    return roles


def _record_keys(frame: pd.DataFrame, environment: str) -> pa.Array:
    return joined(
        text_array(frame[environment]), text_array(frame["table"]), text_array(frame["record_id"])
    )


def _assign(ctx: Context, rows: pd.DataFrame) -> pd.DataFrame:
    current = ctx.state.records
    current_keys = _record_keys(current, "environment")
    keys = _record_keys(rows, "_env")
    at = pc.index_in(keys, value_set=current_keys)
    was = text_array(current["owner"]).take(at)  # missing where the record is new
    owner = text_array(rows["_owner"])
    moved_mask = flags(pc.fill_null(pc.not_equal(pc.fill_null(fold(was), ""), fold(owner)), True))
    pick = pa.array(moved_mask)
    moved = rows[moved_mask]
    key = as_series(keys.filter(pick), moved.index)
    before = as_series(was.filter(pick), moved.index)
    payload = lambda owner: json_objects(pd.DataFrame({"owner": owner}), ["owner"])  # noqa: E731
    ctx.changes.add(
        change="assign_record", entity="record", key=key, environment=moved["_env"],
        before=payload(before).where(before.notna(), None),
        after=payload(moved["_owner"]), rows=moved, kind="records",
    )  # fmt: skip
    extra = [c for c in rows.columns if c not in RECORD_BASE and not c.startswith("_")]
    data = json_objects(moved, extra) if extra else pd.Series(pd.NA, index=moved.index)
    new = pd.DataFrame(
        {
            "environment": moved["_env"], "table": moved["table"], "record_id": moved["record_id"],
            "owner": moved["_owner"], "data": data,
        }
    )  # fmt: skip
    kept = current[~flags(pc.is_in(current_keys, value_set=keys.filter(pick)))]
    return pd.concat([kept, new], ignore_index=True)


def reassign_stub_records(
    ctx: Context, records: pd.DataFrame, converted: pd.DataFrame
) -> pd.DataFrame:
    """R13 with --reassign-stub-records: the stub's records move to the new real user."""
    if converted.empty:
        return records
    owner_key = env_user_key(records, "owner")
    new_owner = env_user_key(converted)
    target = pd.Series(converted["user_name"].to_numpy(), index=new_owner)
    hit = records[isin(owner_key, new_owner).to_numpy()]
    after = owner_key.loc[hit.index].map(target)
    ctx.changes.add(
        change="reassign_record", entity="record", rule="R13",
        key=hit["environment"] + "|" + hit["table"] + "|" + hit["record_id"],
        environment=hit["environment"],
        before=json_objects(hit, ["owner"]),
        after=json_objects(pd.DataFrame({"owner": after}), ["owner"]),
    )  # fmt: skip
    records = records.copy()
    records.loc[hit.index, "owner"] = after
    return records
