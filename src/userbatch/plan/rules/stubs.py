"""Imported records and their owners: R12 stub users, R13 stub conflicts."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin, lookup
from userbatch.plan.context import Context, env_user_key, lower
from userbatch.plan.jsoncol import json_objects
from userbatch.state.model import TABLES
from userbatch.vocabulary import COLUMNS, ROW_META_COLUMNS, STUB_ROLE

RECORD_BASE = {*COLUMNS["records"], *ROW_META_COLUMNS} | {"_row", "_env"}


def _index(env_users: pd.DataFrame, column: str) -> pd.DataFrame:
    keyed = env_users[env_users[column].notna()]
    return pd.DataFrame({"_m": env_user_key(keyed, column), "user_name": keyed["user_name"]})


def match_owners(rows: pd.DataFrame, env_users: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """R12: owners match by user name, then primary email, then full name (case-insensitive).

    Returns (matched user_name or missing, number of full-name matches).
    """
    probe = rows["_env"] + "|" + lower(rows["owner"])
    owner = pd.Series(pd.NA, index=rows.index, dtype="str")
    for column in ("user_name", "primary_email"):
        found = _index(env_users, column).drop_duplicates("_m").set_index("_m")["user_name"]
        owner = owner.fillna(lookup(probe, found))
    names = _index(env_users, "full_name")
    count = probe.map(names["_m"].value_counts()).fillna(0).astype("int64")
    unique = names.drop_duplicates("_m", keep=False).set_index("_m")["user_name"]
    owner = owner.fillna(lookup(probe, unique))
    return owner, count.where(owner.isna(), 0)


def plan_records(
    ctx: Context, env_users: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Planned (records, environment_users with new stubs, stub default roles)."""
    rows = ctx.resolve_environments("records", ctx.pending("records"))
    owner, full_name_hits = match_owners(rows, env_users)
    rows = rows.assign(_owner=owner)
    rows = _r12_ambiguous(ctx, rows, full_name_hits, env_users)
    # A record whose owner row failed is skipped, not stubbed.
    failed = rows["_owner"].isna() & isin(lower(rows["owner"]), ctx.failed_user_keys())
    ctx.refuse(
        "records", rows[failed.to_numpy()], rule="R12", outcome="skipped", level="warning",
        column="owner", message="skipped: the users row of owner " + rows.loc[failed, "owner"] + " did not pass",
    )  # fmt: skip
    rows = rows[~failed.to_numpy()]
    stubs = _new_stubs(ctx, rows)
    rows.loc[rows["_owner"].isna(), "_owner"] = (rows["_env"] + "|" + lower(rows["owner"])).map(
        stubs.set_index(env_user_key(stubs))["user_name"]
    )
    records = _assign(ctx, rows)
    stub_roles = _stub_roles(ctx, stubs)
    return records, pd.concat([env_users, stubs], ignore_index=True), stub_roles


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


def _new_stubs(ctx: Context, rows: pd.DataFrame) -> pd.DataFrame:
    """R12: one stub per (environment, trimmed case-folded owner), named as first written."""
    unmatched = rows[rows["_owner"].isna().to_numpy()]
    firsts = unmatched.assign(
        _k=unmatched["_env"] + "|" + lower(unmatched["owner"])
    ).drop_duplicates("_k")
    owner = firsts["owner"].str.strip()
    stubs = pd.DataFrame(
        {
            "environment": firsts["_env"],
            "user_name": owner,
            "full_name": owner,
            "primary_email": owner.where(owner.str.contains("@", regex=False)),
            "user_type": "stub",
            "status": "disabled",
            "invitation_required": "no",
        }
    ).reindex(columns=list(TABLES["environment_users"][0]))
    ctx.changes.add(
        change="create_stub", entity="stub", key=stubs["user_name"], environment=stubs["environment"],
        rule="R12", after=json_objects(stubs, ["user_name", "full_name", "primary_email", "status"]),
        rows=firsts, kind="records",
    )  # fmt: skip
    return stubs.reset_index(drop=True)


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


def _assign(ctx: Context, rows: pd.DataFrame) -> pd.DataFrame:
    current = ctx.state.records
    key_of = lambda f, env: f[env] + "|" + f["table"] + "|" + f["record_id"]  # noqa: E731
    old_owner = current.set_index(key_of(current, "environment"))["owner"]
    rows = rows.assign(_key=key_of(rows, "_env"))
    before = rows["_key"].map(old_owner)
    moved = rows[(lower(before).fillna("") != lower(rows["_owner"])).to_numpy()]
    payload = lambda owner: json_objects(pd.DataFrame({"owner": owner}), ["owner"])  # noqa: E731
    ctx.changes.add(
        change="assign_record", entity="record", key=moved["_key"], environment=moved["_env"],
        before=payload(before.loc[moved.index]).where(before.loc[moved.index].notna(), None),
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
    kept = current[~isin(key_of(current, "environment"), moved["_key"])]
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
