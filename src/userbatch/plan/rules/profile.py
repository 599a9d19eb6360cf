"""Environment user changes from the derived table: create, R2 profile updates, R3 primary
email, R4 enable/disable, R6 invitations, access modes (R9, R10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, release_memory, text_array
from userbatch.plan.context import PENDING, Context, lower
from userbatch.plan.jsoncol import LazyJson, json_arrays
from userbatch.plan.keys import (
    encode,
    equal,
    first_match,
    flags,
    fold,
    folded,
    joined,
    marks,
    positions,
    unique_positions,
)
from userbatch.state.model import ENV_USER_COLUMNS
from userbatch.vocabulary import MAX_NON_INTERACTIVE

PROFILE = ["user_name", "full_name", "title", "main_phone", "mobile_phone", "fax", "address"]
CREATED = [c for c in ENV_USER_COLUMNS if c not in ("environment", "invitation_required")]
CHUNK = 32_768  # emails compared at a time (R3)


def _match(old: pd.DataFrame, new: pd.DataFrame) -> np.ndarray:
    """Per ``new`` row, its ``old`` row by ``env_user_key``, -1 where none: the users are
    numbered by the old table's (the smaller) and the new one probed against them."""
    users = pc.dictionary_encode(folded(old["user_name"]), null_encoding="encode")
    new_users = positions(folded(new["user_name"]), users.dictionary)
    (old_env, new_env), _ = encode(text_array(old["environment"]), text_array(new["environment"]))
    size = len(users.dictionary) + 1
    old_pairs = old_env.astype(np.int64) * size + users.indices.to_numpy()
    return first_match(new_env.astype(np.int64) * size + new_users, old_pairs)


def _texts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column ``str`` (converted once here, not per look-up)."""
    other = [c for c in ENV_USER_COLUMNS if frame[c].dtype != "str"]
    return frame.astype(dict.fromkeys(other, "str")) if other else frame


def _same(before: pa.Array, after: pa.Array) -> np.ndarray:
    """Equal cells, two missing ones included."""
    both_missing = pc.and_(pc.is_null(before), pc.is_null(after))
    return flags(pc.equal(before, after)) | both_missing.to_numpy(zero_copy_only=False)


def _cells(frame: pd.DataFrame, column: str, at: np.ndarray) -> pa.Array:
    return text_array(frame[column]).take(pa.array(at, type=pa.int64()))


def _objects(frame, at, columns, include=None) -> pd.Series:
    """JSON objects of ``frame`` rows at positions ``at``: only those rows are gathered."""
    return _json({c: _cells(frame, c, at) for c in columns}, include)


def _json(cells: dict[str, pa.Array], include: dict[str, np.ndarray] | None = None) -> pd.Series:
    """JSON objects over ``cells`` (field -> values); ``include`` leaves a field out where
    False."""
    names = list(cells)
    if not len(cells[names[0]]):
        return pd.Series([], dtype="str")
    fields = None if include is None else [include[c] for c in names]
    return as_series(json_arrays(names, [cells[c] for c in names], fields))


def diff_environment_users(ctx: Context, planned: pd.DataFrame) -> pd.Series:
    """Emit the changes; return the ``environment|user`` keys created or enabled (for R8),
    indexed by their rows' positions in ``planned``."""
    old = ctx.state.environment_users
    planned = _texts(planned)
    match = _match(old, planned)
    release_memory()  # the matching's keys and hashes (a rule beside this one allocates too)
    known = match >= 0
    stub = equal(text_array(planned["user_type"]), "stub")
    created = np.flatnonzero(~known & ~stub)  # stubs: R12
    _created(ctx, planned, created)
    was_stub = np.zeros(len(planned), dtype=bool)
    was_stub[known] = equal(_cells(old, "user_type", match[known]), "stub")
    # R13: a stub replaced by the real user of the same name is deleted, the user created.
    converting = known & was_stub & ~stub
    converted = np.flatnonzero(converting)
    gone = match[converted]
    before = _objects(old, gone, ["user_name", "status"])
    _add(ctx, "delete_stub", old, gone, rule="R13", before=before)
    _created(ctx, planned, converted, rule="R13")
    both = np.flatnonzero(known & ~converting)
    if len(converted):  # Index.difference sorted these by key: keep that order
        both = both[pc.sort_indices(_keys(planned, both)).to_numpy()]
    was = match[both]
    changed = {c: ~_same(_cells(old, c, was), _cells(planned, c, both)) for c in PROFILE}
    touched = np.logical_or.reduce(list(changed.values()))
    include = {c: changed[c][touched] for c in PROFILE}
    _add(
        ctx, "update_user", planned, both[touched], rule="R2",
        before=_objects(old, was[touched], PROFILE, include),
        after=_objects(planned, both[touched], PROFILE, include),
    )  # fmt: skip
    enabled = _status(ctx, old, planned, was, both)
    _field(ctx, "set_access_mode", "access_mode", old, planned, was, both, rule="R10")
    _field(ctx, "update_primary_email", "primary_email", old, planned, was, both, rule="R3")
    at = np.concatenate([created, enabled])
    return as_series(_keys(planned, at), pd.Index(at))


def _created(ctx, planned, at, rule=None) -> None:
    """create_user for the rows at ``at`` (no stubs), every set field in its JSON, made
    from the planned table's columns when the change is written (LazyJson)."""
    after = LazyJson(tuple(CREATED), tuple(planned[c] for c in CREATED), at)
    _add(ctx, "create_user", planned, at, rule=rule, after=after)


def _keys(frame: pd.DataFrame, at: np.ndarray) -> pa.Array:
    """``env_user_key`` of the rows at ``at``."""
    return joined(_cells(frame, "environment", at), fold(_cells(frame, "user_name", at)))


def _status(ctx, old, planned, was, at) -> np.ndarray:
    before, after = _cells(old, "status", was), _cells(planned, "status", at)
    enable = at[equal(before, "disabled") & equal(after, "enabled")]
    disable = at[equal(before, "enabled") & equal(after, "disabled")]
    _add(
        ctx, "enable_user", planned, enable, rule="R4",
        before='{"status": "disabled"}', after='{"status": "enabled"}',
    )  # fmt: skip
    # R6: a user enabled again needs a new invitation.
    after = '{"invitation_required": "yes"}'
    _add(ctx, "invitation_required", planned, enable, rule="R6", after=after)
    _add(
        ctx, "disable_user", planned, disable, rule="R4",
        before='{"status": "enabled"}', after='{"status": "disabled"}',
    )  # fmt: skip
    return enable


def _field(ctx, change, column, old, planned, was, at, *, rule) -> None:
    moved = ~_same(_cells(old, column, was), _cells(planned, column, at))
    _add(
        ctx, change, planned, at[moved], rule=rule,
        before=_objects(old, was[moved], [column]), after=_objects(planned, at[moved], [column]),
    )  # fmt: skip


def _add(
    ctx, change: str, frame: pd.DataFrame, at: np.ndarray, *, rule=None, before=None, after=None
):
    """Changes for ``frame`` rows at positions ``at``; ``before``/``after``: a text for all
    or a Series in the order of ``at``. One part per entity, in order of first appearance."""
    if not len(at):
        return
    stub = equal(_cells(frame, "user_type", at), "stub")
    for entity, mine in (("stub", stub), ("environment_user", ~stub))[:: 1 if stub[0] else -1]:
        if not mine.any():
            continue
        at_mine = at[mine]
        ctx.changes.add(
            change=change, entity=entity,
            key=as_series(fold(_cells(frame, "user_name", at_mine))),
            environment=as_series(_cells(frame, "environment", at_mine)), rule=rule,
            before=_part(before, mine), after=_part(after, mine),
        )  # fmt: skip


def _part(value, mine: np.ndarray):
    if isinstance(value, LazyJson):
        return value.subset(mine)
    return value[mine].reset_index(drop=True) if isinstance(value, pd.Series) else value


def warn_primary_email(ctx: Context, planned: pd.DataFrame, tenant_users: pd.DataFrame) -> None:
    """R3: a changed email does not overwrite Primary Email; warn on the users row."""
    if ctx.options.sync_primary_email:
        return
    users = ctx.frames["users"]
    rows = np.flatnonzero(
        users["outcome"].eq(PENDING).to_numpy() & users["email"].notna().to_numpy()
    )
    mine = np.flatnonzero(
        ~equal(text_array(planned["user_type"]), "stub")
        & flags(pc.is_valid(text_array(planned["primary_email"])))
    )
    # Each environment user's users row(s) by key, then their emails compared.
    owner = fold(_cells(planned, "user_name", mine))
    row_keys = text_array(users["key"]).take(pa.array(rows))
    found = unique_positions(owner, row_keys)
    if found is not None:  # one users row per key (the usual case): no codes to pair
        p = np.flatnonzero(found < len(rows))
        u = found[p]
        same_key = None
    else:
        keys = pc.dictionary_encode(row_keys, null_encoding="encode")
        size = len(keys.dictionary) + 1
        row_of = keys.indices.to_numpy().astype(np.int64)
        p, u = _pairs(positions(owner, keys.dictionary), row_of, size)
        same_key = (row_of, size)
    del owner, row_keys
    release_memory()  # the keys and hashes (a rule beside this one allocates too)
    differ = np.zeros(len(p), dtype=bool)
    for lo in range(0, len(p), CHUNK):  # a chunk of emails at a time
        email = fold(text_array(users["email"]).take(pa.array(rows[u[lo : lo + CHUNK]])))
        primary = fold(_cells(planned, "primary_email", mine[p[lo : lo + CHUNK]]))
        differ[lo : lo + CHUNK] = flags(pc.not_equal(email, primary))
    if same_key is None:
        warned = np.zeros(len(rows), dtype=bool)
        warned[u[differ]] = True
    else:  # every row of a key with a differing email
        row_of, size = same_key
        warned = marks(row_of[u[differ]], size)[row_of]
    hit = rows[warned]
    ctx.note(
        "users", users.iloc[hit], rule="R3", column="email",
        message="Primary Email in the environment stays as it is (not synchronized, to prevent data "
        "loss); rerun with --sync-primary-email to overwrite it",
    )  # fmt: skip


def _pairs(left: np.ndarray, right: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of every ``left[i] == right[j]`` (codes below ``size``)."""
    if np.bincount(right, minlength=size).max(initial=0) <= 1:  # unique right: no merge
        where = np.full(size, -1, dtype=np.int64)
        where[right] = np.arange(len(right))
        j = where[left]
        i = np.flatnonzero(j >= 0)
        return i, j[i]
    left = pd.DataFrame({"code": left, "i": np.arange(len(left))})
    pairs = left.merge(pd.DataFrame({"code": right, "j": np.arange(len(right))}), on="code")
    return pairs["i"].to_numpy(), pairs["j"].to_numpy()


def _setting_non_interactive(ctx: Context) -> pd.DataFrame:
    """The pending users rows that set access mode non-interactive: only these can make an
    environment's 8th (R10)."""
    return ctx.pending("users", ctx.frames["users"]["access_mode"].eq("non-interactive"))


def r10_may_refuse(ctx: Context) -> bool:
    """Whether ``r10_violations`` can find any."""
    return "access_mode" in ctx.frames["users"] and not _setting_non_interactive(ctx).empty


def r10_violations(ctx: Context, planned: pd.DataFrame) -> pd.DataFrame:
    """R10: at most 7 non-interactive users per environment (non-application, any status);
    the users rows that would make the 8th, in input order."""
    setting = _setting_non_interactive(ctx)
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
