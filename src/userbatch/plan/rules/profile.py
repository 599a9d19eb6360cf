"""Environment user changes from the derived table: create, R2 profile updates, R3 primary
email, R4 enable/disable, R6 invitations, access modes (R9, R10)."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin
from userbatch.plan.context import Context, env_user_key, lower
from userbatch.plan.jsoncol import json_objects
from userbatch.state.model import ENV_USER_COLUMNS
from userbatch.vocabulary import MAX_NON_INTERACTIVE

PROFILE = ["user_name", "full_name", "title", "main_phone", "mobile_phone", "fax", "address"]
CREATED = [c for c in ENV_USER_COLUMNS if c not in ("environment", "invitation_required")]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(env_user_key(frame))


def diff_environment_users(ctx: Context, planned: pd.DataFrame) -> pd.Series:
    """Emit the changes; return the ``environment|user`` keys created or enabled (for R8)."""
    old = _keyed(ctx.state.environment_users)
    new = _keyed(planned)
    created = new[
        ~isin(new.index, old.index) & new["user_type"].ne("stub").to_numpy()
    ]  # stubs: R12
    _add(
        ctx, "create_user", created, after=json_objects(created, CREATED, created[CREATED].notna())
    )
    both = new.index[isin(new.index, old.index)]
    # R13: a stub replaced by the real user of the same name is deleted, the user created.
    converted = both[
        old.loc[both, "user_type"].eq("stub").to_numpy()
        & new.loc[both, "user_type"].ne("stub").to_numpy()
    ]
    _add(
        ctx,
        "delete_stub",
        old.loc[converted],
        rule="R13",
        before=json_objects(old.loc[converted], ["user_name", "status"]),
    )
    fresh = new.loc[converted]
    _add(
        ctx,
        "create_user",
        fresh,
        rule="R13",
        after=json_objects(fresh, CREATED, fresh[CREATED].notna()),
    )
    both = both.difference(converted)
    before, after = old.loc[both], new.loc[both]
    changed = ~(
        after[PROFILE].eq(before[PROFILE]).fillna(False)
        | (after[PROFILE].isna() & before[PROFILE].isna())
    )
    touched = changed.any(axis=1)
    _add(
        ctx, "update_user", after[touched], rule="R2",
        before=json_objects(before[touched], PROFILE, changed[touched]),
        after=json_objects(after[touched], PROFILE, changed[touched]),
    )  # fmt: skip
    enabled = _status(ctx, before, after)
    _field(ctx, "set_access_mode", "access_mode", before, after, rule="R10")
    _field(ctx, "update_primary_email", "primary_email", before, after, rule="R3")
    return pd.Series(created.index.append(enabled), dtype="str")


def _status(ctx: Context, before: pd.DataFrame, after: pd.DataFrame) -> pd.Index:
    enable = after[before["status"].eq("disabled") & after["status"].eq("enabled")]
    disable = after[before["status"].eq("enabled") & after["status"].eq("disabled")]
    _add(
        ctx,
        "enable_user",
        enable,
        rule="R4",
        before='{"status": "disabled"}',
        after='{"status": "enabled"}',
    )
    # R6: a user enabled again needs a new invitation.
    _add(ctx, "invitation_required", enable, rule="R6", after='{"invitation_required": "yes"}')
    _add(
        ctx,
        "disable_user",
        disable,
        rule="R4",
        before='{"status": "enabled"}',
        after='{"status": "disabled"}',
    )
    return enable.index


def _field(ctx, change, column, before, after, *, rule) -> None:
    moved = after[
        ~(
            after[column].eq(before[column]).fillna(False)
            | (after[column].isna() & before[column].isna())
        )
    ]
    was = before.loc[moved.index]
    _add(
        ctx, change, moved, rule=rule,
        before=json_objects(was, [column]), after=json_objects(moved, [column]),
    )  # fmt: skip


def _add(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, before=None, after=None):
    if rows.empty:
        return
    entity = rows["user_type"].eq("stub").map({True: "stub", False: "environment_user"})
    for name, part in rows.groupby(entity.to_numpy(), sort=False):
        index = part.index
        ctx.changes.add(
            change=change, entity=name, key=lower(part["user_name"]).set_axis(index),
            environment=part["environment"].set_axis(index), rule=rule,
            before=before.loc[index] if isinstance(before, pd.Series) else before,
            after=after.loc[index] if isinstance(after, pd.Series) else after,
        )  # fmt: skip


def warn_primary_email(ctx: Context, planned: pd.DataFrame, tenant_users: pd.DataFrame) -> None:
    """R3: a changed email does not overwrite Primary Email; warn on the users row."""
    if ctx.options.sync_primary_email:
        return
    rows = ctx.pending("users", ctx.frames["users"]["email"].notna())
    email = planned.assign(_key=lower(planned["user_name"]))
    email = email[email["user_type"].ne("stub") & email["primary_email"].notna()]
    pairs = rows[["key", "email"]].merge(
        email[["_key", "primary_email", "environment"]], left_on="key", right_on="_key"
    )
    differ = pairs[lower(pairs["email"]).ne(lower(pairs["primary_email"])).to_numpy()]
    hit = rows[isin(rows["key"], differ["key"]).to_numpy()]
    ctx.note(
        "users", hit, rule="R3", column="email",
        message="Primary Email in the environment stays as it is (not synchronized, to prevent data "
        "loss); rerun with --sync-primary-email to overwrite it",
    )  # fmt: skip


def r10_violations(ctx: Context, planned: pd.DataFrame) -> pd.DataFrame:
    """R10: at most 7 non-interactive users per environment (non-application, any status);
    the users rows that would make the 8th, in input order."""
    setting = ctx.pending("users", ctx.frames["users"]["access_mode"].eq("non-interactive"))
    if setting.empty:
        return setting
    counted = planned[
        planned["access_mode"].eq("non-interactive") & planned["user_type"].eq("interactive")
    ]
    counted = counted.assign(_key=lower(counted["user_name"]))
    current = ctx.state.environment_users
    was = (
        current.loc[current["access_mode"].eq("non-interactive"), "environment"]
        + "|"
        + lower(current.loc[current["access_mode"].eq("non-interactive"), "user_name"])
    )
    counted = counted.assign(_pair=counted["environment"] + "|" + counted["_key"])
    newcomers = counted[~isin(counted["_pair"], was) & isin(counted["_key"], setting["key"])]
    settled = counted[~isin(counted.index, newcomers.index)]["environment"].value_counts()
    order = pd.Series(range(len(setting)), index=setting["key"])
    newcomers = newcomers.assign(_order=newcomers["_key"].map(order)).sort_values("_order")
    rank = newcomers.groupby("environment").cumcount() + 1
    over = newcomers[(rank + newcomers["environment"].map(settled).fillna(0)) > MAX_NON_INTERACTIVE]
    return setting[isin(setting["key"], over["_key"]).to_numpy()]
