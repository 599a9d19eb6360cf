"""Records and their owners: R12 stub users, R13 stub conflicts."""

import pytest

from tests.engine.helpers import changes, make_store, outcomes, problems, run
from userbatch.state.store import Store

UNKNOWN_OWNERS = [
    "Hannah Schmidt",
    "pat.oneil@legacy.example",
    "Rafael Ortega",
    "Mia Wong",
    "old.boss@legacy.example",
]


def _records(owners, environment="") -> str:
    lines = ["table,record_id,owner,environment,name"]
    lines += [f"account,A-{i},{owner},{environment},Account {i}" for i, owner in enumerate(owners)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("kind", "role"), [("dynamics365", "Salesperson"), ("powerapps", "Basic User")]
)
def test_five_unknown_owners_make_exactly_five_stubs_with_the_default_role_r12(
    tmp_path, kind, role
):
    state = make_store(tmp_path, environments=f"name,kind\nenv1,{kind}\n")
    # Each unknown owner twice, the second time in other case and with spaces around.
    owners = UNKNOWN_OWNERS + [f"  {o.upper()} " for o in UNKNOWN_OWNERS]
    result = run(tmp_path, state, records=_records(owners), apply=True)
    stubs = changes(result, "create_stub")
    assert sorted(stubs["key"]) == sorted(UNKNOWN_OWNERS)
    assert set(stubs["rule"]) == {"R12"}
    stub_roles = changes(result, "assign_role")
    assert sorted(stub_roles["key"]) == sorted(f"env1|{o.lower()}|{role}" for o in UNKNOWN_OWNERS)
    stored = Store.open(state).load()
    stub_users = stored.environment_users[stored.environment_users["user_type"] == "stub"]
    assert len(stub_users) == 5
    assert set(stub_users["status"]) == {"disabled"}
    assert set(stored.roles["role"]) == {role}
    assert len(stored.records) == 10
    assert outcomes(result, "records") == ["changed"] * 10


def test_stubs_are_never_enabled_by_later_runs_r12(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nenv1,dynamics365\n")
    run(tmp_path, state, name="first", records=_records(["Hannah Schmidt"]), apply=True)
    result = run(
        tmp_path, state, name="second",
        licenses="user_principal_name,sku\nhannah schmidt,SALES\n",
        records=_records(["Hannah Schmidt"]),
    )  # fmt: skip
    assert changes(result, "enable_user").empty
    assert changes(result, "create_stub").empty  # one stub per owner, reused
    assert set(result.plan.planned.environment_users["status"]) == {"disabled"}


def test_record_owned_by_disabled_user_is_assigned_not_stubbed_r12(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,first_name,last_name,email\nann@contoso.example,Ann,Lee,ann.lee@mail.example\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )  # fmt: skip
    # Unlicensed: Ann is a disabled environment user. Match by UPN, email and full name.
    result = run(
        tmp_path,
        state,
        records=_records(["ANN@contoso.example", "ann.lee@mail.example", "ann lee"]),
    )
    assert changes(result, "create_stub").empty
    owners = result.plan.planned.records["owner"].tolist()
    assert owners == ["ann@contoso.example"] * 3


def test_owner_created_in_the_same_run_is_matched(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    result = run(
        tmp_path, state,
        users="user_principal_name,first_name,last_name\nnew@contoso.example,New,Hire\n",
        records=_records(["New Hire"]),
    )  # fmt: skip
    assert changes(result, "create_stub").empty
    assert result.plan.planned.records["owner"].tolist() == ["new@contoso.example"]


def test_ambiguous_full_name_fails_or_goes_to_default_owner_r12(tmp_path):
    state = make_store(
        tmp_path,
        environments="name,kind\nopen,dynamics365\n",
        users="""
            user_principal_name,first_name,last_name
            jo1@contoso.example,Jo,Smith
            jo2@contoso.example,Jo,Smith
            boss@contoso.example,Big,Boss
        """,
    )  # fmt: skip
    result = run(tmp_path, state, name="plain", records=_records(["Jo Smith"]))
    assert outcomes(result, "records") == ["failed"]
    assert "ambiguous" in problems(result, "R12")["message"].iloc[0]
    result = run(
        tmp_path,
        state,
        name="fallback",
        default_owner="boss@contoso.example",
        records=_records(["Jo Smith"]),
    )
    assert outcomes(result, "records") == ["changed"]
    assert result.plan.planned.records["owner"].tolist() == ["boss@contoso.example"]


def test_record_whose_owner_row_failed_is_skipped_not_stubbed(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location\nbad@contoso.example,Narnia\n",
        records=_records(["bad@contoso.example"]),
    )  # fmt: skip
    assert outcomes(result, "records") == ["skipped"]
    assert changes(result, "create_stub").empty


def test_real_user_with_a_stubs_name_fails_with_r13(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    run(
        tmp_path,
        state,
        name="stub",
        records=_records(["pat@contoso.example", "pat@contoso.example "]),
        apply=True,
    )
    result = run(tmp_path, state, name="real", users="user_principal_name\npat@contoso.example\n")
    assert outcomes(result, "users") == ["failed"]
    assert problems(result, "R13")["message"].iloc[0].startswith("stub_conflict: 2 records")


def test_reassign_stub_records_moves_records_and_deletes_the_stub_r13(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    run(
        tmp_path,
        state,
        name="stub",
        records=_records(["Pat@contoso.example", "pat@contoso.example"]),
        apply=True,
    )
    result = run(
        tmp_path, state, name="real", reassign_stub_records=True, apply=True,
        users="user_principal_name,usage_location\npat@contoso.example,US\n",
    )  # fmt: skip
    assert outcomes(result, "users") == ["changed"]
    assert len(changes(result, "reassign_record")) == 2
    assert changes(result, "delete_stub")["rule"].tolist() == ["R13"]
    stored = Store.open(state).load()
    assert stored.environment_users["user_type"].tolist() == ["interactive"]
    assert set(stored.records["owner"]) == {"pat@contoso.example"}
    assert stored.roles.empty  # the stub's Salesperson went with it


def test_owner_email_shared_by_two_users_goes_to_the_first_in_tenant_order_r12(tmp_path):
    # Both users hold the owner's address as primary email; zed already has an environment
    # user (listed first in the planned table), amy gets one now: the tenant order (amy
    # first) decides, as it always did.
    state = make_store(
        tmp_path,
        environments="name,kind\nenv1,dynamics365\n",
        users="user_principal_name,email,usage_location\namy@contoso.example,team@contoso.example,US\n"
        "zed@contoso.example,team@contoso.example,US\n",
        environment_users="environment,user_name,primary_email,user_type,status,invitation_required\n"
        "env1,zed@contoso.example,team@contoso.example,interactive,disabled,no\n",
    )
    result = run(tmp_path, state, records=_records(["TEAM@contoso.example"]))
    planned = result.plan.planned
    assert planned.environment_users["user_name"].tolist()[0] == "zed@contoso.example"
    assert planned.records["owner"].tolist() == ["amy@contoso.example"]
    assert changes(result, "create_stub").empty
