"""`userbatch revert RUN`: the inverse of an applied run, from its recorded writes."""

from __future__ import annotations

import pandas as pd

from userbatch.errors import FatalError, UsageError
from userbatch.plan import Plan
from userbatch.problems import Problems
from userbatch.state.history import list_runs, run_changes, run_writes
from userbatch.state.model import TABLES, conform

INVERSE = {
    "create_user": "delete_user", "delete_user": "create_user",
    "assign_license": "remove_license", "remove_license": "assign_license",
    "add_member": "remove_member", "remove_member": "add_member",
    "enable_user": "disable_user", "disable_user": "enable_user",
    "assign_role": "remove_role", "remove_role": "assign_role",
    "create_stub": "delete_stub", "delete_stub": "create_stub",
}  # fmt: skip


def _keys(table: str, frame: pd.DataFrame) -> set[str]:
    _, key = TABLES[table]
    if frame.empty:
        return set()
    return set(frame[list(key)].astype("str").apply(lambda c: c.str.lower()).agg("|".join, axis=1))


def conflicting_runs(store, run_id: str) -> list[str]:
    """Later runs whose writes touch a row this run wrote."""
    runs = list_runs(store)
    position = runs.index[runs["run_id"] == run_id]
    if position.empty:
        raise UsageError(f"no run {run_id} in the history; see `userbatch history`")
    touched = {
        table: _keys(table, deleted) | _keys(table, inserted)
        for table, (deleted, inserted) in run_writes(store, run_id).items()
    }
    conflicts = []
    for later in runs.loc[position[0] + 1 :, "run_id"]:
        for table, (deleted, inserted) in run_writes(store, later).items():
            if touched.get(table, set()) & (_keys(table, deleted) | _keys(table, inserted)):
                conflicts.append(later)
                break
    return conflicts


def inverse_plan(store, run_id: str, *, force: bool = False) -> Plan:
    conflicts = conflicting_runs(store, run_id)
    if conflicts and not force:
        raise FatalError(
            f"later run(s) {', '.join(conflicts)} changed the same rows as {run_id}; "
            "revert those first or pass --force"
        )
    state = store.load()
    writes = {}
    for table, (deleted, inserted) in run_writes(store, run_id).items():
        # Delete what is now at the keys the run inserted or deleted, as it is now (this
        # run's history keeps it whole: a revert of the revert puts it back), then put back
        # what the run deleted.
        writes[table] = (
            _rows_at(state.tables[table], table, [inserted, deleted]),
            conform(table, deleted),
        )
    changes = run_changes(store, run_id)
    inverse = changes.assign(
        change=changes["change"].map(lambda c: INVERSE.get(c, c)),
        before=changes["after"], after=changes["before"],
        _kind=None, _row=None,
    )  # fmt: skip
    return Plan({}, inverse.iloc[::-1].reset_index(drop=True), Problems(), state, None, writes)


def _rows_at(current: pd.DataFrame, table: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``current`` whose key is the key of a row of ``frames``, exactly as the
    store compares them (history keeps an inserted row's key only)."""
    _, key = TABLES[table]
    keys = pd.concat([frame.reindex(columns=list(key)) for frame in frames], ignore_index=True)
    keys = keys.dropna().astype("str").drop_duplicates()
    return current.astype({k: "str" for k in key}).merge(keys, on=list(key), how="inner")
