"""Tenant users: upsert, (clear), disable (R7), delete (R7), unverified_domain."""

import json

from tests.engine.helpers import changes, make_store, outcomes, problems, run
from userbatch.state.store import Store

EXISTING = """
    user_principal_name,first_name,last_name,job_title,department,usage_location
    Ann.Lee@contoso.example,Ann,Lee,Buyer,Purchasing,US
"""


def test_blank_cell_keeps_value_and_clear_empties_it(tmp_path):
    state = make_store(tmp_path, users=EXISTING)
    result = run(
        tmp_path, state, apply=True,
        users="user_principal_name,job_title,department\nann.lee@contoso.example,Head Buyer,(clear)\n",
    )  # fmt: skip
    update = changes(result, "update_user", "user")
    assert json.loads(update["before"].iloc[0]) == {
        "job_title": "Buyer",
        "department": "Purchasing",
    }
    assert json.loads(update["after"].iloc[0]) == {"job_title": "Head Buyer", "department": None}
    user = Store.open(state).load().users.iloc[0]
    assert user["job_title"] == "Head Buyer"
    assert user["first_name"] == "Ann"  # blank in the input: kept
    # The UPN stays as first written; it is compared lower-cased.
    assert user["user_principal_name"] == "Ann.Lee@contoso.example"


def test_unchanged_row_is_reported_unchanged(tmp_path):
    state = make_store(tmp_path, users=EXISTING)
    result = run(
        tmp_path, state, users="user_principal_name,job_title\nANN.LEE@contoso.example,Buyer\n"
    )
    assert outcomes(result, "users") == ["unchanged"]
    assert result.plan.report_changes().empty


def test_disable_removes_from_security_group_and_warns_about_the_seat_r7(tmp_path):
    state = make_store(
        tmp_path, users=EXISTING,
        licenses="user_principal_name,sku\nann.lee@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann.lee@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state, users="user_principal_name,action\nann.lee@contoso.example,disable\n"
    )
    removal = changes(result, "remove_member")
    assert removal["key"].tolist() == ["SG-Sales|ann.lee@contoso.example"]
    assert removal["rule"].tolist() == ["R7"]
    assert "SALES" in problems(result, "R7")["message"].iloc[0]
    assert changes(result, "disable_user", "environment_user")["key"].tolist() == [
        "ann.lee@contoso.example"
    ]
    assert changes(result, "remove_license").empty  # the seat stays consumed


def test_disable_with_release_licenses_frees_the_seat(tmp_path):
    state = make_store(
        tmp_path, users=EXISTING,
        licenses="user_principal_name,sku\nann.lee@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann.lee@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state, release_licenses=True,
        users="user_principal_name,action\nann.lee@contoso.example,disable\n",
    )  # fmt: skip
    assert changes(result, "remove_license")["key"].tolist() == ["ann.lee@contoso.example|SALES"]


def test_delete_frees_seats_and_keeps_environment_user_disabled_r7(tmp_path):
    state = make_store(
        tmp_path, users=EXISTING,
        licenses="user_principal_name,sku\nann.lee@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann.lee@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path,
        state,
        apply=True,
        users="user_principal_name,action\nann.lee@contoso.example,delete\n",
    )
    assert changes(result, "delete_user")["key"].tolist() == ["ann.lee@contoso.example"]
    assert changes(result, "remove_license")["rule"].tolist() == ["R7"]
    stored = Store.open(state).load()
    assert stored.users.empty and stored.licenses.empty and stored.memberships.empty
    assert stored.environment_users["status"].tolist() == ["disabled"]


def test_deleting_an_absent_user_changes_nothing(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state, users="user_principal_name,action\nghost@contoso.example,delete\n"
    )
    assert outcomes(result, "users") == ["unchanged"]
    assert result.exit_code == 0


def test_disabling_an_unknown_user_fails(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state, users="user_principal_name,action\nghost@contoso.example,disable\n"
    )
    assert outcomes(result, "users") == ["failed"]
    assert len(problems(result, "unknown_user")) == 1


def test_upn_outside_verified_domains_fails(tmp_path):
    state = make_store(tmp_path, domains="domain\ncontoso.example\n")
    result = run(
        tmp_path, state,
        users="user_principal_name\nok@contoso.example\nnope@elsewhere.example\n",
    )  # fmt: skip
    assert outcomes(result, "users") == ["changed", "failed"]
    assert "elsewhere.example" in problems(result, "unverified_domain")["message"].iloc[0]


def test_plan_never_writes_the_store(tmp_path):
    state = make_store(tmp_path)
    before = Store.open(state).fingerprint()
    run(tmp_path, state, users="user_principal_name\nnew@contoso.example\n")
    assert Store.open(state).fingerprint() == before
    assert Store.open(state).load().users.empty
