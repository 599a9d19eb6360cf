"""The generated tenant (tests/perf/generate.py) runs through the pipeline as a user expects.

The slow test plans and applies 200,000 users rows against 100,000 existing users, so a
regression of scaling (or a bug that only shows at scale) fails CI; it asserts outcomes,
not timings (tests/perf/bench.py measures those).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.perf.generate import generate
from userbatch import jobs
from userbatch.io.readers import read_inputs
from userbatch.plan import make_plan
from userbatch.state.store import Store
from userbatch.validate import validate

# Every error a generated batch may hold is one of its deliberately broken rows.
DELIBERATE = {
    "max_length",  # users: job title over 64 characters
    "unverified_domain",  # users: UPN outside the tenant's domains
    "R15",  # licenses: the user has no usage location
    "unknown_sku", "unknown_group", "unknown_role",
    "required",  # records: no record_id
}  # fmt: skip


def _tenant(tmp_path, users: int, existing: int) -> tuple[dict, str]:
    manifest = generate(tmp_path / "tenant", users, existing, seed=3)
    state = str(tmp_path / "state.db")
    jobs.run_init(state, snapshot=tmp_path / "tenant" / "snapshot")
    return manifest, state


def _count(changes: pd.DataFrame, entity: str, change: str) -> int:
    return int((changes["entity"].eq(entity) & changes["change"].eq(change)).sum())


def test_same_seed_writes_the_same_tenant(tmp_path):
    generate(tmp_path / "a", 200, 100, seed=9)
    generate(tmp_path / "b", 200, 100, seed=9)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert len(files) == 15
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_small_generated_batch_is_invalid_only_where_broken_on_purpose(tmp_path):
    manifest = generate(tmp_path, 300, 150, seed=3)
    validation = validate(read_inputs([tmp_path / "inputs"]))
    invalid = {kind: int(f["outcome"].eq("invalid").sum()) for kind, f in validation.frames.items()}
    assert invalid == {"users": 1, "licenses": 0, "memberships": 0, "roles": 0, "records": 1}
    assert manifest["broken_users"]["long_job_title"] == 1
    assert validation.rejected_files == []


def test_small_generated_tenant_plans_with_only_deliberate_errors(tmp_path):
    manifest, state = _tenant(tmp_path, 300, 150)
    result = jobs.run_plan([tmp_path / "tenant" / "inputs"], state=state,
                           report_dir=tmp_path / "report")  # fmt: skip
    problems = pd.read_csv(tmp_path / "report" / "problems.csv", dtype=str)
    errors = set(problems.loc[problems["level"].eq("error"), "rule"])
    assert errors <= DELIBERATE
    changes = result.plan.changes
    assert _count(changes, "user", "create_user") == manifest["expected_created_users"]
    assert _count(changes, "stub", "create_stub") == manifest["expected_stubs"]
    assert result.exit_code == 4  # partial: the broken rows


@pytest.mark.slow
def test_200k_users_apply_creates_every_valid_user_and_replans_empty(tmp_path):
    manifest, state = _tenant(tmp_path, 200_000, 100_000)
    inputs = [tmp_path / "tenant" / "inputs"]
    result = jobs.run_plan(inputs, state=state, report_dir=tmp_path / "report", apply=True)
    assert result.applied and result.exit_code == 4
    changes = result.plan.changes
    assert _count(changes, "user", "create_user") == manifest["expected_created_users"]
    assert _count(changes, "stub", "create_stub") == manifest["expected_stubs"]
    records = result.plan.frames["records"]["outcome"].value_counts()
    assert records.get("changed") == manifest["input_rows"]["records"] - records.get("invalid")
    credentials = pd.read_csv(tmp_path / "report" / "credentials.csv", dtype=str)
    assert len(credentials) == manifest["expected_created_users"]
    # The run hands its frames to the planner: planning again reads the inputs again.
    validation = jobs.read_and_validate(inputs, jobs.ReadOptions(), jobs.Timer())
    again = make_plan(validation.frames, Store.open(state).load())
    assert again.changes.empty
