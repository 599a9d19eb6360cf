"""Environment users derived as a sync would: R2, R3, R4, R5, R6, R9, R10."""

import json

import pandas as pd

from tests.engine.helpers import changes, env_users, make_store, outcomes, problems, run

HIRE = """
    user_principal_name,first_name,last_name,job_title,office_phone,street_address,city,country_or_region,email,usage_location
    ann@contoso.example,Ann,Lee,Buyer,+1 555 0100,1 Main St,Springfield,United States,ann@contoso.example,US
"""


def _enabled(result, environment="sales"):
    frame = result.plan.planned.environment_users
    frame = frame[frame["environment"] == environment]
    return dict(zip(frame["user_name"].str.lower(), frame["status"], strict=True))


def test_licensed_direct_member_is_enabled_with_profile_from_tenant_user(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state, users=HIRE,
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
        apply=True,
    )  # fmt: skip
    user = env_users(state).set_index("user_name").loc["ann@contoso.example"]
    assert user["status"] == "enabled"  # R4
    # R2: Full Name, Title, Main Phone, Address joined with ", "
    assert user["full_name"] == "Ann Lee"
    assert user["title"] == "Buyer"
    assert user["main_phone"] == "+1 555 0100"
    assert user["address"] == "1 Main St, Springfield, United States"
    assert user["primary_email"] == "ann@contoso.example"
    assert user["access_mode"] == "read-write"
    assert result.exit_code == 0


def test_member_without_access_granting_license_is_disabled_r4(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state, users=HIRE,
        licenses="user_principal_name,sku\nann@contoso.example,MAIL\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )  # fmt: skip
    assert _enabled(result) == {"ann@contoso.example": "disabled"}


def test_licensed_user_outside_the_security_group_gets_no_environment_user_r4(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state, users=HIRE,
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
    )  # fmt: skip
    assert _enabled(result) == {}


def test_blocked_sign_in_keeps_user_disabled_r4(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location,sign_in_allowed\nann@contoso.example,US,no\n",
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )  # fmt: skip
    assert _enabled(result) == {"ann@contoso.example": "disabled"}
    created = changes(result, "create_user", "environment_user")
    assert json.loads(created["after"].iloc[0])["status"] == "disabled"


def test_member_of_nested_group_only_is_warned_and_not_enabled_r5(tmp_path):
    state = make_store(
        tmp_path,
        groups="name\nSG-Sales\nSG-EMEA\n",
        memberships="group,member\nSG-Sales,SG-EMEA\n",
    )
    result = run(
        tmp_path, state, users=HIRE,
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
        memberships="group,member\nSG-EMEA,ann@contoso.example\n",
    )  # fmt: skip
    warning = problems(result, "R5")
    assert "SG-EMEA" in warning["message"].iloc[0]
    assert warning["level"].iloc[0] == "warning"
    assert _enabled(result).get("ann@contoso.example") != "enabled"


def test_user_enabled_again_needs_a_new_invitation_r6(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,usage_location\nann@contoso.example,US\n",
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
    )
    # Not in the group yet: the snapshot derives nothing; add her, take her out, add again.
    run(
        tmp_path,
        state,
        name="join",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
        apply=True,
    )
    run(
        tmp_path,
        state,
        name="leave",
        memberships="group,member,action\nSG-Sales,ann@contoso.example,remove\n",
        apply=True,
    )
    assert env_users(state)["status"].tolist() == ["disabled"]
    result = run(
        tmp_path, state, name="back", memberships="group,member\nSG-Sales,ann@contoso.example\n"
    )
    assert changes(result, "enable_user")["key"].tolist() == ["ann@contoso.example"]
    invite = changes(result, "invitation_required")
    assert invite["rule"].tolist() == ["R6"]
    invitations = (result.report_dir / "invitations.csv").read_text()
    assert "ann@contoso.example" in invitations


def test_changed_email_keeps_primary_email_and_warns_r3(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,email,usage_location\nann@contoso.example,ann@old.example,US\n",
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )
    result = run(
        tmp_path,
        state,
        users="user_principal_name,email\nann@contoso.example,ann@new.example\n",
        apply=True,
    )
    assert env_users(state)["primary_email"].tolist() == ["ann@old.example"]
    assert len(problems(result, "R3")) == 1
    assert changes(result, "update_primary_email").empty


def test_sync_primary_email_flag_overwrites_it_r3(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,email,usage_location\nann@contoso.example,ann@old.example,US\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )
    result = run(
        tmp_path, state, users="user_principal_name,email\nann@contoso.example,ann@new.example\n",
        sync_primary_email=True, apply=True,
    )  # fmt: skip
    assert changes(result, "update_primary_email")["rule"].tolist() == ["R3"]
    assert env_users(state)["primary_email"].tolist() == ["ann@new.example"]


def test_unlicensed_global_admin_is_enabled_as_administrative_outside_the_group_r9(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="""
            user_principal_name,admin_role,usage_location
            boss@contoso.example,Global Administrator,US
            crm@contoso.example,Dynamics 365 admin,US
        """,
    )  # fmt: skip
    planned = result.plan.planned.environment_users.set_index("user_name")
    assert planned.loc["boss@contoso.example", "status"] == "enabled"
    assert planned.loc["boss@contoso.example", "access_mode"] == "administrative"
    # A Dynamics 365 admin must be in the security group to be enabled.
    assert planned.loc["crm@contoso.example", "status"] == "disabled"
    # The system gives a Global admin System Administrator.
    roles = changes(result, "assign_role")
    assert roles[roles["rule"] == "R9"]["key"].tolist() == [
        "sales|boss@contoso.example|System Administrator"
    ]


def _non_interactive_rows(count: int, start: int = 0) -> str:
    lines = ["user_principal_name,access_mode,usage_location"]
    lines += [f"svc{i}@contoso.example,non-interactive,US" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def test_eighth_non_interactive_user_is_refused_r10(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    result = run(tmp_path, state, users=_non_interactive_rows(8))
    assert outcomes(result, "users") == ["changed"] * 7 + ["failed"]
    refused = problems(result, "R10")
    assert refused["source_row"].tolist() == ["9"]
    assert len(changes(result, "create_user", "user")) == 7
    # Refused on the second pass, the row still comes back whole, ready to fix.
    errors = pd.read_csv(result.report_dir / "errors" / "users.csv", dtype=str)
    assert errors[["user_principal_name", "access_mode", "usage_location"]].values.tolist() == [
        ["svc7@contoso.example", "non-interactive", "US"]
    ]


def test_application_users_do_not_count_toward_non_interactive_limit_r10(tmp_path):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    apps = "".join(
        f"app{i}@contoso.example,application,6f1c2b3a-9d4e-4f5a-8b7c-2e1d0a9f8c7{i}\n"
        for i in range(3)
    )
    result = run(tmp_path, state, users=_non_interactive_rows(7), name="svc", apply=True)
    assert outcomes(result, "users") == ["changed"] * 7
    result = run(
        tmp_path, state, name="apps",
        users="user_principal_name,user_type,application_id\n" + apps,
    )  # fmt: skip
    assert outcomes(result, "users") == ["changed"] * 3
    planned = result.plan.planned.environment_users
    apps_planned = planned[planned["user_type"] == "application"]
    assert set(apps_planned["status"]) == {"enabled"}
    assert set(apps_planned["access_mode"]) == {"non-interactive"}
