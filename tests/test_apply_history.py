"""Run history: what an apply records reads back the same, however many blobs it takes."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from tests.engine.helpers import make_store, run
from userbatch import jobs
from userbatch.reports.changes_csv import PARTIAL_NAME, ChangesCsv
from userbatch.state import history
from userbatch.state.store import Store

ONBOARD = dict(
    users="user_principal_name,first_name,usage_location\n"
    + "".join(f"u{i}@contoso.example,Name{i},US\n" for i in range(7)),
    licenses="user_principal_name,sku\n"
    + "".join(f"u{i}@contoso.example,SALES\n" for i in range(7)),
)


def _store_rows(state) -> dict:
    loaded = Store.open(state).load()
    return {
        name: sorted(map(tuple, frame.astype("str").values))
        for name, frame in loaded.tables.items()
    }


def test_history_split_in_many_blobs_reads_back_and_reverts(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "BLOB_ROWS", 2)  # every frame in several blobs
    state = make_store(tmp_path)
    before = _store_rows(state)
    applied = run(tmp_path, state, apply=True, **ONBOARD)
    assert applied.applied
    run_id = jobs.history(state)["run_id"].iloc[-1]
    with Store.open(state).engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM run_blobs").fetchall()]
    assert "changes#1" in names and "insert:users#2" in names
    recorded = history.run_changes(Store.open(state), run_id)
    pdt.assert_frame_equal(recorded, applied.plan.changes_with_after().astype("str"))
    deleted, inserted = history.run_writes(Store.open(state), run_id)["users"]
    assert sorted(inserted["user_principal_name"]) == [f"u{i}@contoso.example" for i in range(7)]
    assert jobs.run_revert(run_id, state=state, report_dir=tmp_path / "rv").applied
    assert _store_rows(state) == before


def test_a_history_that_cannot_be_made_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    """The history is made beside the store writes, in the same transaction: a blob that
    fails to build rolls every write back, and no run is recorded."""
    monkeypatch.setattr(history, "BLOB_ROWS", 2)
    state = make_store(tmp_path)
    before = _store_rows(state)
    made = []

    def failing_blob(frame):
        if len(made) == 3:
            raise RuntimeError("disk full while making the history")
        made.append(frame)
        return real_blob(frame)

    real_blob = history._blob
    monkeypatch.setattr(history, "_blob", failing_blob)
    inputs = [tmp_path / "users.csv", tmp_path / "licenses.csv"]
    for path, text in zip(inputs, ONBOARD.values(), strict=True):
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"):
        jobs.run_plan(inputs, state=state, report_dir=tmp_path / "a" / "b" / "rep", apply=True)
    assert _store_rows(state) == before
    assert jobs.history(state).empty
    # changes.csv had begun beside the write: neither it nor the folders made for it stay.
    assert not (tmp_path / "a").exists()


def test_a_revert_of_a_revert_puts_the_rows_back_whole(tmp_path):
    """History keeps an inserted row's key only; a revert records the rows it deletes as
    they are in the store, so reverting the revert restores every column."""
    state = make_store(tmp_path)
    run(tmp_path, state, apply=True, **ONBOARD)
    applied = _store_rows(state)
    first = jobs.history(state)["run_id"].iloc[-1]
    assert jobs.run_revert(first, state=state, report_dir=tmp_path / "rv1").applied
    assert _store_rows(state) != applied
    second = jobs.history(state)["run_id"].iloc[-1]
    assert jobs.run_revert(second, state=state, report_dir=tmp_path / "rv2").applied
    assert _store_rows(state) == applied


def test_a_partial_changes_csv_is_removed_and_never_written_after_discard(tmp_path):
    """A killed apply's partial changes.csv goes with the next reports into its folder; a
    discarded one is not written again by a history thread still running."""
    stale = tmp_path / "rep" / PARTIAL_NAME
    stale.parent.mkdir()
    stale.write_text("half a file")
    state = make_store(tmp_path)
    inputs = tmp_path / "users.csv"
    inputs.write_text(ONBOARD["users"], encoding="utf-8")
    assert jobs.run_plan([inputs], state=state, report_dir=stale.parent).exit_code == 0
    assert not stale.exists() and (stale.parent / "changes.csv").exists()
    sink = ChangesCsv(tmp_path / "x")
    sink.discard()
    sink.write(pd.DataFrame({"change": ["create_user"]}))
    sink.close()
    assert sink.file is None and not (tmp_path / "x").exists()


def test_changes_csv_written_during_the_apply_is_the_plans(tmp_path, monkeypatch):
    """changes.csv of an apply is written from the history's parts while the store is
    written: the same file a plan of the same inputs writes, and no partial file left."""
    monkeypatch.setattr(history, "BLOB_ROWS", 3)  # the change log in several parts
    state = make_store(tmp_path)
    planned = run(tmp_path, state, **ONBOARD)
    inputs = sorted((tmp_path / "in-run").iterdir())
    applied = jobs.run_plan(inputs, state=state, report_dir=tmp_path / "applied", apply=True)
    assert applied.applied
    written = (applied.report_dir / "changes.csv").read_bytes()
    assert written == (planned.report_dir / "changes.csv").read_bytes()
    assert written.count(b"\n") == 1 + len(applied.plan.changes) > 10
    assert sorted(p.name for p in applied.report_dir.iterdir() if p.name.startswith(".")) == []
