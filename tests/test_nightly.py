"""Nightly operation: mirror mode, the mass-disable guard, saved plans, locking, crash
safety, history and revert (issue "Nightly operation")."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.engine.helpers import changes, make_store, run
from userbatch import jobs
from userbatch.cli import cli
from userbatch.errors import FatalError
from userbatch.plan import PlanOptions
from userbatch.state.store import Store


def _company(n: int, admins: int = 0) -> dict:
    """A snapshot of ``n`` licensed direct members of SG-Sales (all enabled)."""
    upns = [f"u{i:03d}@contoso.example" for i in range(n)]
    users = "user_principal_name,usage_location,admin_role\n" + "".join(
        f"{u},US,{'Global admin' if i < admins else ''}\n" for i, u in enumerate(upns)
    )
    return {
        "skus": f"sku,total_units\nSALES,{n}\n",
        "users": users,
        "licenses": "user_principal_name,sku\n" + "".join(f"{u},SALES\n" for u in upns),
        "memberships": "group,member\n" + "".join(f"SG-Sales,{u}\n" for u in upns),
    }


def _roster(n: int, missing: int) -> str:
    return "user_principal_name\n" + "".join(
        f"u{i:03d}@contoso.example\n" for i in range(missing, n)
    )


def test_mirror_disabling_11_percent_is_refused_by_default_and_passes_with_guard_raised(tmp_path):
    state = make_store(tmp_path, **_company(100))
    refused = run(
        tmp_path, state, name="default", mode="mirror", apply=True, users=_roster(100, 11)
    )
    assert refused.exit_code == 1
    assert "--max-disable" in refused.messages[-1] and "11 users" in refused.messages[-1]
    assert not refused.applied
    assert (refused.report_dir / "summary.json").exists()  # reports still written
    assert len(changes(refused, "remove_member")) == 11
    passed = run(
        tmp_path, state, name="raised", mode="mirror", max_disable="15%", apply=True,
        users=_roster(100, 11),
    )  # fmt: skip
    assert passed.exit_code == 0 and passed.applied
    statuses = Store.open(state).load().environment_users["status"].value_counts()
    assert statuses["disabled"] == 11


def test_mirror_never_disables_keep_accounts_admins_or_application_users(tmp_path):
    company = _company(20, admins=1)
    company["users"] += "app@contoso.example,,\n"
    state = make_store(tmp_path, **company)
    result = run(
        tmp_path, state, mode="mirror", max_disable="100%", keep=("u001@contoso.example,u002@contoso.example",),
        users=_roster(20, 4),  # u000 (admin) .. u003 missing
    )  # fmt: skip
    removed = set(changes(result, "remove_member")["key"])
    assert removed == {"SG-Sales|u003@contoso.example"}
    kept = pd.read_csv(result.report_dir / "problems.csv", dtype=str)
    kept = kept[kept["message"].str.contains("not in the roster", na=False)]
    assert set(kept["key"]) == {
        "u000@contoso.example",
        "u001@contoso.example",
        "u002@contoso.example",
    }


def test_keep_accepts_a_file_of_break_glass_accounts(tmp_path):
    state = make_store(tmp_path, **_company(10))
    keep = tmp_path / "break-glass.txt"
    keep.write_text("u000@contoso.example\nu001@contoso.example\n")
    result = run(
        tmp_path, state, mode="mirror", max_disable="100%", keep=(str(keep),), users=_roster(10, 3)
    )
    assert set(changes(result, "remove_member")["key"]) == {"SG-Sales|u002@contoso.example"}


def test_check_exits_5_with_pending_changes_and_0_without(tmp_path):
    state = make_store(tmp_path)
    runner = CliRunner()
    users = tmp_path / "users.csv"
    users.write_text("user_principal_name\nnew@contoso.example\n")
    args = [
        "plan",
        str(users),
        "--state",
        str(state),
        "--check",
        "--report-dir",
        str(tmp_path / "r1"),
    ]
    assert runner.invoke(cli, args).exit_code == 5
    applied = runner.invoke(
        cli,
        ["apply", str(users), "--state", str(state), "--yes", "--report-dir", str(tmp_path / "r2")],
    )
    assert applied.exit_code == 0, applied.output
    args[-1] = str(tmp_path / "r3")
    assert runner.invoke(cli, args).exit_code == 0


def test_saved_plan_is_applied_exactly_and_a_stale_one_is_refused(tmp_path):
    state = make_store(tmp_path)
    saved = tmp_path / "plan.json"
    planned = run(tmp_path, state, name="plan", users="user_principal_name\nnew@contoso.example\n")
    assert planned.exit_code == 0
    jobs.run_plan(
        [tmp_path / "in-plan" / "users.csv"], state=state, out=saved, report_dir=tmp_path / "p"
    )
    assert "new@contoso.example" in saved.read_text()
    # Someone else changes the store first: the saved plan is stale.
    run(
        tmp_path,
        state,
        name="other",
        apply=True,
        users="user_principal_name\nother@contoso.example\n",
    )
    with pytest.raises(FatalError, match="stale"):
        jobs.run_apply_saved(saved, state=state, report_dir=tmp_path / "stale")
    # Planned again on the current store, the saved plan applies exactly its changes.
    jobs.run_plan(
        [tmp_path / "in-plan" / "users.csv"], state=state, out=saved, report_dir=tmp_path / "p2"
    )
    result = jobs.run_apply_saved(saved, state=state, report_dir=tmp_path / "a")
    assert result.applied and result.exit_code == 0
    users = set(Store.open(state).load().users["user_principal_name"])
    assert users == {"new@contoso.example", "other@contoso.example"}
    assert (result.report_dir / "credentials.csv").exists()


HOLD_LOCK = """
import sys, time
from userbatch.state.store import Store
from userbatch.state.lock import apply_lock
with apply_lock(Store.open(sys.argv[1]), "holder-run-1"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_concurrent_apply_is_refused_naming_the_holder_and_lock_dies_with_it(tmp_path):
    state = make_store(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FatalError, match="holder-run-1"):
            run(
                tmp_path,
                state,
                name="second",
                apply=True,
                users="user_principal_name\nx@contoso.example\n",
            )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    result = run(
        tmp_path,
        state,
        name="after-kill",
        apply=True,
        users="user_principal_name\nx@contoso.example\n",
    )
    assert result.applied


def _export(state, out):
    jobs.run_export(state, out)
    return {p.name: p.read_text() for p in sorted(out.iterdir())}


def test_sigkill_mid_apply_loses_nothing_and_a_rerun_completes(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    users = tmp_path / "users.csv"
    n = 40_000
    users.write_text(
        "user_principal_name,first_name,last_name,usage_location\n"
        + "".join(f"user{i}@contoso.example,First{i},Last{i},US\n" for i in range(n))
    )
    before = _export(state, tmp_path / "before")
    journal = state.with_name(state.name + "-journal")
    cmd = [sys.executable, "-m", "userbatch", "apply", str(users), "--state", str(state), "--yes",
           "--report-dir", str(tmp_path / "killed")]  # fmt: skip
    victim = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not journal.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert victim.poll() is None, "the apply finished before it could be killed mid-write"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert _export(state, tmp_path / "after-kill") == before
    rerun = subprocess.run(cmd[:-1] + [str(tmp_path / "rerun")], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert len(Store.open(state).load().users) == n


def test_apply_then_revert_returns_the_export_to_what_it_was(tmp_path):
    state = make_store(
        tmp_path, users="user_principal_name,usage_location\nold@contoso.example,US\n"
    )
    before = _export(state, tmp_path / "before")
    applied = run(
        tmp_path, state, apply=True,
        users="user_principal_name,usage_location,action\nnew@contoso.example,US,\nold@contoso.example,,delete\n",
        licenses="user_principal_name,sku\nnew@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,new@contoso.example\n",
        records="table,record_id,owner\naccount,1,Somebody Gone\n",
    )  # fmt: skip
    assert applied.applied
    runs = jobs.history(state)
    assert runs["command"].tolist() == ["apply"]
    shown = jobs.history(state, runs["run_id"].iloc[0])
    assert set(shown["change"]) >= {"create_user", "delete_user", "create_stub", "assign_license"}
    reverted = jobs.run_revert(runs["run_id"].iloc[0], state=state, report_dir=tmp_path / "rv")
    assert reverted.applied
    assert _export(state, tmp_path / "after") == before
    assert jobs.history(state)["reverts"].iloc[-1] == runs["run_id"].iloc[0]


def test_revert_is_refused_when_a_later_run_changed_the_same_rows(tmp_path):
    state = make_store(tmp_path)
    run(
        tmp_path,
        state,
        name="one",
        apply=True,
        users="user_principal_name,job_title\nann@contoso.example,Buyer\n",
    )
    run(
        tmp_path,
        state,
        name="two",
        apply=True,
        users="user_principal_name,job_title\nann@contoso.example,Boss\n",
    )
    first = jobs.history(state)["run_id"].iloc[0]
    with pytest.raises(FatalError, match="--force"):
        jobs.run_revert(first, state=state, report_dir=tmp_path / "rv")
    forced = jobs.run_revert(first, state=state, force=True, report_dir=tmp_path / "rv2")
    assert forced.applied


def test_no_password_outside_credentials_csv_after_onboarding(tmp_path):
    state = make_store(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "user_principal_name,usage_location,password\n"
        "given@contoso.example,US,Given-Secret-99!\nmade@contoso.example,US,\n"
    )
    log_file = tmp_path / "userbatch.log"
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        cli,
        ["apply", str(folder), "--state", str(state), "--yes", "--report-dir", str(reports),
         "--log-file", str(log_file), "--verbose"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    credentials = pd.read_csv(reports / "credentials.csv", dtype=str)
    assert oct(os.stat(reports / "credentials.csv").st_mode & 0o777) == "0o600"
    secrets = credentials["password"].tolist()
    assert "Given-Secret-99!" in secrets and len(secrets) == 2
    scanned = [p for p in reports.rglob("*") if p.is_file() and p.name != "credentials.csv"] + [
        log_file
    ]
    for path in scanned:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"password found in {path}"
    for secret in secrets:
        assert secret not in result.output
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["exit_code"] == 0


def test_plan_options_mirror_without_env_in_multi_environment_store_is_usage_error(tmp_path):
    from userbatch.errors import UsageError

    state = make_store(tmp_path, environments="name,kind\na,dynamics365\nb,powerapps\n")
    with pytest.raises(UsageError, match="--env"):
        jobs.run_plan(
            [], state=state, options=PlanOptions(mode="mirror"), report_dir=tmp_path / "r"
        )
