"""Apply: one transaction, R1 credentials, idempotence, export round trip, exit codes."""

import csv
import os
import stat

import pytest

from tests.engine.helpers import changes, make_store, run
from userbatch import jobs
from userbatch.passwords import generate_passwords
from userbatch.state.store import Store

ONBOARD = dict(
    users="""
        user_principal_name,first_name,last_name,usage_location,password
        ann@contoso.example,Ann,Lee,US,
        bob@contoso.example,Bob,Ray,US,Given-Pass-123!
    """,
    licenses="user_principal_name,sku\nann@contoso.example,SALES\nbob@contoso.example,SALES\n",
    memberships="group,member\nSG-Sales,ann@contoso.example\nSG-Sales,bob@contoso.example\n",
    roles="user_principal_name,role\nann@contoso.example,Salesperson\nbob@contoso.example,Salesperson\n",
)


def test_apply_writes_passwords_only_to_credentials_csv_with_mode_0600_r1(tmp_path):
    state = make_store(tmp_path)
    result = run(tmp_path, state, apply=True, **ONBOARD)
    assert result.exit_code == 0 and result.applied
    credentials = result.report_dir / "credentials.csv"
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    with open(credentials, newline="") as handle:
        rows = {r["user_principal_name"]: r["password"] for r in csv.DictReader(handle)}
    assert rows["bob@contoso.example"] == "Given-Pass-123!"
    generated = rows["ann@contoso.example"]
    assert len(generated) >= 12 and generated[0] not in "=+-@"
    assert changes(result, "create_user", "user")["rule"].tolist() == ["R1", "R1"]
    for path in result.report_dir.rglob("*"):
        if path.is_file() and path.name != "credentials.csv":
            data = path.read_bytes()
            assert generated.encode() not in data, path
            assert b"Given-Pass-123!" not in data, path
    # Never in the store either.
    db = state.read_bytes()
    assert generated.encode() not in db and b"Given-Pass-123!" not in db


def test_generated_passwords_meet_microsoft_complexity_r1():
    for password in generate_passwords(2000):
        assert len(password) == 16
        assert password[0] not in "=+-@"
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)
    assert len(set(generate_passwords(1000))) == 1000


def test_applying_the_same_input_twice_changes_nothing_the_second_time(tmp_path):
    state = make_store(tmp_path)
    run(tmp_path, state, name="first", apply=True, **ONBOARD)
    fingerprint = Store.open(state).fingerprint()
    again = run(tmp_path, state, name="second", apply=True, **ONBOARD)
    assert again.plan.report_changes().empty
    assert not again.applied
    assert again.exit_code == 0
    assert Store.open(state).fingerprint() == fingerprint


def test_export_then_plan_gives_zero_changes(tmp_path):
    state = make_store(tmp_path)
    run(
        tmp_path,
        state,
        name="onboard",
        apply=True,
        **ONBOARD,
        records="table,record_id,owner\naccount,1,Ghost Owner\n",
    )
    for out in (tmp_path / "export.xlsx", tmp_path / "export-folder"):
        jobs.run_export(state, out)
        fresh = tmp_path / f"{out.name}.db"
        jobs.run_init(fresh, snapshot=out)
        assert (
            Store.open(fresh)
            .load()
            .environment_users.equals(Store.open(state).load().environment_users)
        )
        result = run(
            tmp_path,
            fresh,
            name=f"again-{out.name}",
            **ONBOARD,
            records="table,record_id,owner\naccount,1,Ghost Owner\n",
        )
        assert result.plan.report_changes().empty, result.plan.report_changes()


def test_strict_rejects_the_whole_run_when_a_row_fails(tmp_path):
    state = make_store(tmp_path)
    inputs = {**ONBOARD, "licenses": ONBOARD["licenses"] + "ann@contoso.example,NOPE\n"}
    result = run(tmp_path, state, apply=True, strict=True, **inputs)
    assert result.exit_code == 3
    assert not result.applied
    assert Store.open(state).load().users.empty


def test_partial_run_applies_the_good_rows_and_exits_4(tmp_path):
    state = make_store(tmp_path)
    inputs = {**ONBOARD, "licenses": ONBOARD["licenses"] + "ann@contoso.example,NOPE\n"}
    result = run(tmp_path, state, apply=True, **inputs)
    assert result.exit_code == 4
    assert len(Store.open(state).load().users) == 2
    errors = (result.report_dir / "errors" / "licenses.csv").read_text()
    assert "NOPE" in errors


def test_check_exits_5_when_changes_are_pending_and_0_when_none(tmp_path):
    state = make_store(tmp_path)
    assert run(tmp_path, state, name="pending", check=True, **ONBOARD).exit_code == 5
    run(tmp_path, state, name="apply", apply=True, **ONBOARD)
    assert run(tmp_path, state, name="none", check=True, **ONBOARD).exit_code == 0


def test_missing_store_is_a_one_line_error_naming_init(tmp_path):
    from userbatch.errors import StoreMissingError

    with pytest.raises(StoreMissingError, match="userbatch init"):
        Store.open(tmp_path / "nope.db")
