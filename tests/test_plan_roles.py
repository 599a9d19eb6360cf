"""Security roles: R11 enabled users, R8 warnings, unknown_role / unknown_environment."""

from tests.engine.helpers import changes, make_store, outcomes, problems, run

ENABLED = dict(
    users="user_principal_name,usage_location\nann@contoso.example,US\nbob@contoso.example,US\n",
    licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
    memberships="group,member\nSG-Sales,ann@contoso.example\nSG-Sales,bob@contoso.example\n",
)


def test_role_for_enabled_user_is_assigned_and_for_disabled_user_fails_r11(tmp_path):
    state = make_store(tmp_path, **ENABLED)
    result = run(
        tmp_path, state,
        roles="user_principal_name,role\nann@contoso.example,Salesperson\nbob@contoso.example,Salesperson\n",
    )  # fmt: skip
    assert outcomes(result, "roles") == ["changed", "failed"]
    assert problems(result, "R11")["key"].tolist() == ["sales|bob@contoso.example|Salesperson"]


def test_environment_setting_allows_roles_on_disabled_users_r11(tmp_path):
    state = make_store(
        tmp_path, **ENABLED,
        environments="name,kind,security_group,allow_role_assignment_on_disabled_users\nsales,dynamics365,SG-Sales,yes\n",
    )  # fmt: skip
    result = run(
        tmp_path, state, roles="user_principal_name,role\nbob@contoso.example,Salesperson\n"
    )
    assert outcomes(result, "roles") == ["changed"]


def test_role_in_same_run_as_license_that_enables_user_is_assigned_r11(tmp_path):
    state = make_store(tmp_path, **ENABLED)
    result = run(
        tmp_path, state,
        licenses="user_principal_name,sku\nbob@contoso.example,SALES\n",
        roles="user_principal_name,role\nbob@contoso.example,Salesperson\n",
    )  # fmt: skip
    assert outcomes(result, "roles") == ["changed"]


def test_removing_every_role_warns_that_user_stays_enabled_r8(tmp_path):
    state = make_store(
        tmp_path,
        **ENABLED,
        roles="user_principal_name,role,environment\nann@contoso.example,Salesperson,sales\n",
    )
    result = run(
        tmp_path, state,
        roles="user_principal_name,role,action\nann@contoso.example,Salesperson,remove\n",
    )  # fmt: skip
    assert changes(result, "remove_role")["key"].tolist() == [
        "sales|ann@contoso.example|Salesperson"
    ]
    warning = problems(result, "R8")
    assert warning["level"].tolist() == ["warning"]
    assert "stays enabled" in warning["message"].iloc[0]


def test_new_enabled_user_without_role_is_warned_r8(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location\nnew@contoso.example,US\n",
        licenses="user_principal_name,sku\nnew@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,new@contoso.example\n",
    )  # fmt: skip
    assert "reach no app" in problems(result, "R8")["message"].iloc[0]


def test_unknown_role_and_unknown_environment_fail(tmp_path):
    state = make_store(tmp_path, **ENABLED)
    result = run(
        tmp_path, state,
        roles="""
            user_principal_name,role,environment
            ann@contoso.example,Chief Wizard,sales
            ann@contoso.example,Salesperson,nowhere
        """,
    )  # fmt: skip
    assert outcomes(result, "roles") == ["failed", "failed"]
    assert len(problems(result, "unknown_role")) == 1
    assert len(problems(result, "unknown_environment")) == 1
