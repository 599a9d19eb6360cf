"""The planner lets input columns go once their rules are done; rows refused before that
still come back whole in errors/<kind>.csv, and the answers are those of a caller that
keeps every column."""

import pandas as pd

from tests.engine.helpers import make_store, run
from userbatch import jobs
from userbatch.plan import make_plan
from userbatch.state.store import Store

USERS = """user_principal_name,job_title,department,usage_location
new.one@contoso.example,Analyst,Finance,US
x@elsewhere.example,Spy,Intelligence,US
"""
LICENSES = """user_principal_name,sku,action
new.one@contoso.example,NOPE,assign
"""
MEMBERSHIPS = """group,member,action
No Such Group,new.one@contoso.example,add
"""


def _errors(result, kind: str) -> pd.DataFrame:
    return pd.read_csv(result.report_dir / "errors" / f"{kind}.csv", dtype=str)


def test_rows_refused_early_keep_every_input_column_in_the_errors_files(tmp_path):
    state = make_store(tmp_path, domains="domain\ncontoso.example\n")
    result = run(tmp_path, state, users=USERS, licenses=LICENSES, memberships=MEMBERSHIPS)
    users = _errors(result, "users")
    assert users[["user_principal_name", "job_title", "department"]].values.tolist() == [
        ["x@elsewhere.example", "Spy", "Intelligence"]
    ]
    assert _errors(result, "licenses")[["sku", "action"]].values.tolist() == [["NOPE", "assign"]]
    assert _errors(result, "memberships")["group"].tolist() == ["No Such Group"]
    # The plan's frames keep the row columns only; the refused rows are kept whole.
    assert "job_title" not in result.plan.frames["users"]
    assert result.plan.failing["users"]["job_title"].tolist() == ["Spy"]


def test_a_caller_keeping_its_frames_gets_the_same_plan(tmp_path):
    state = make_store(tmp_path, domains="domain\ncontoso.example\n")
    result = run(tmp_path, state, users=USERS, licenses=LICENSES, memberships=MEMBERSHIPS)
    inputs = sorted((tmp_path / "in-run").glob("*.csv"))
    validation = jobs.read_and_validate(inputs, jobs.ReadOptions(), jobs.Timer())
    kept = make_plan(validation.frames, Store.open(state).load())
    assert "job_title" in validation.frames["users"]  # the caller's frames are untouched
    pd.testing.assert_frame_equal(
        kept.changes_with_after(), result.plan.changes_with_after(), check_categorical=False
    )
    for kind, frame in result.plan.frames.items():
        assert frame["outcome"].tolist() == kept.frames[kind]["outcome"].tolist(), kind


def test_rows_that_caused_changes_are_found_by_position_or_by_number():
    from userbatch.plan import _rows_hit

    assert _rows_hit(pd.Series(range(4)), [3, 1]).tolist() == [False, True, False, True]
    # Row numbers that are not the frame's positions are matched by value.
    assert _rows_hit(pd.Series([5, 7, 9]), [7.0]).tolist() == [False, True, False]
    assert _rows_hit(pd.Series([], dtype=object), []).tolist() == []
    assert _rows_hit(pd.Series(range(3)), [5]).tolist() == [False, False, False]
