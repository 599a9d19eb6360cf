"""Rules that run side by side give the plan of one rule after the other: the same changes,
problems and outcomes, in the same order, and the same error when a rule fails."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

import userbatch.plan as plan_module
from tests.perf.generate import generate
from userbatch import jobs
from userbatch.errors import UsageError
from userbatch.plan.concurrent import alongside, each
from userbatch.plan.context import Context, PlanOptions
from userbatch.plan.jsoncol import LazyJson
from userbatch.state.model import State

SAMPLES = "samples"


def _one_after_the_other(ctx, first, second):
    return first(ctx), second(ctx)


def _plan(tmp_path, name, inputs, **options):
    state = tmp_path / f"{name}.db"
    jobs.run_init(state, snapshot=tmp_path / "tenant" / "snapshot")
    return jobs.run_plan(
        inputs, state=state, options=PlanOptions(**options), report_dir=tmp_path / f"r-{name}"
    )


@pytest.mark.parametrize("options", [{}, {"reassign_stub_records": True}])
def test_a_generated_tenant_plans_the_same_side_by_side_and_one_after_the_other(
    tmp_path, monkeypatch, options
):
    generate(tmp_path / "tenant", 3000, 1500, seed=5)
    inputs = [tmp_path / "tenant" / "inputs"]
    side_by_side = _plan(tmp_path, "a", inputs, **options)
    monkeypatch.setattr(plan_module, "alongside", _one_after_the_other)
    in_turn = _plan(tmp_path, "b", inputs, **options)

    a, b = side_by_side.plan, in_turn.plan
    assert len(a.changes) > 1000 and len(a.problems.frame()) > 10
    pdt.assert_frame_equal(a.changes_with_after(), b.changes_with_after())
    pdt.assert_frame_equal(a.problems.frame(), b.problems.frame())
    for kind in a.frames:
        pdt.assert_frame_equal(a.frames[kind], b.frames[kind])
    for name in ("changes.csv", "problems.csv", "results.csv"):
        assert (side_by_side.report_dir / name).read_bytes() == (
            in_turn.report_dir / name
        ).read_bytes()


def _context() -> Context:
    return Context({}, State(), PlanOptions())


def _change(ctx: Context, key: str, lazy: bool = False) -> None:
    keys = pd.Series([key, key + "-2"])
    after = LazyJson(("k",), (keys,)) if lazy else pd.Series(['{"k": 1}', '{"k": 2}'])
    ctx.changes.add(change="create_user", entity="user", key=keys, after=after)
    ctx.problems.add_one(level="warning", rule="R0", message=key)


def test_the_second_rules_changes_and_problems_follow_the_first_ones_with_their_json():
    ctx = _context()
    _change(ctx, "before", lazy=True)
    alongside(ctx, lambda c: _change(c, "first"), lambda c: _change(c, "second", lazy=True))
    _change(ctx, "after", lazy=True)

    changes = ctx.changes.frame()
    filled = ctx.changes.lazy_after().fill(changes)
    assert changes["key"].tolist() == [
        "before", "before-2", "first", "first-2", "second", "second-2", "after", "after-2"
    ]  # fmt: skip
    assert filled["after"].tolist() == [
        '{"k": "before"}', '{"k": "before-2"}', '{"k": 1}', '{"k": 2}',
        '{"k": "second"}', '{"k": "second-2"}', '{"k": "after"}', '{"k": "after-2"}',
    ]  # fmt: skip
    assert ctx.problems.frame()["message"].tolist() == ["before", "first", "second", "after"]


def test_an_error_of_the_first_rule_wins_and_the_second_rule_is_waited_for():
    ctx, finished = _context(), []

    def first(c):
        raise UsageError("first failed")

    def second(c):
        finished.append("second")
        raise ValueError("second failed")

    with pytest.raises(UsageError, match="first failed"):
        alongside(ctx, first, second)
    assert finished == ["second"]


def test_an_error_of_the_second_rule_reaches_the_caller():
    def second(c):
        raise UsageError("no environment")

    with pytest.raises(UsageError, match="no environment"):
        alongside(_context(), lambda c: 1, second)


def test_each_keeps_the_order_of_its_items():
    assert each(lambda n: n * n, range(50)) == [n * n for n in range(50)]


def test_samples_plan_the_same_side_by_side_and_one_after_the_other(tmp_path, monkeypatch):
    inputs = [f"{SAMPLES}/onboarding", f"{SAMPLES}/broken"]
    runs = []
    for name in ("a", "b"):
        state = tmp_path / f"{name}.db"
        jobs.run_init(state, snapshot=f"{SAMPLES}/snapshot")
        runs.append(
            jobs.run_plan(
                inputs,
                state=state,
                options=PlanOptions(env="sales-prod"),
                report_dir=tmp_path / f"r-{name}",
            )  # fmt: skip
        )
        monkeypatch.setattr(plan_module, "alongside", _one_after_the_other)
    a, b = (r.plan for r in runs)
    pdt.assert_frame_equal(a.changes_with_after(), b.changes_with_after())
    pdt.assert_frame_equal(a.problems.frame(), b.problems.frame())
    assert set(a.problems.frame()["rule"]) >= {"R5", "R7", "R11"}
