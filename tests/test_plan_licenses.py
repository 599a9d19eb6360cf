"""Licenses: R14 seat capacity, R15 usage location, unknown_sku / unknown_user."""

from tests.engine.helpers import changes, make_store, outcomes, problems, run

USERS = """
    user_principal_name,first_name,last_name,usage_location
    a@contoso.example,Ann,Ames,US
    b@contoso.example,Bob,Bell,US
    c@contoso.example,Cy,Cole,US
    d@contoso.example,Dee,Dunn,US
    e@contoso.example,Eve,East,US
"""


def test_assignments_past_capacity_fail_with_r14_in_input_order(tmp_path):
    state = make_store(
        tmp_path,
        skus="sku,total_units\nSALES,3\n",
        users=USERS.replace("e@contoso.example,Eve,East,US\n", "")
        + "    old@contoso.example,Old,Timer,US\n",
        licenses="user_principal_name,sku\nold@contoso.example,SALES\n",
    )
    result = run(
        tmp_path, state,
        users=USERS,
        licenses="""
            user_principal_name,sku,action
            a@contoso.example,SALES,assign
            b@contoso.example,SALES,assign
            old@contoso.example,SALES,remove
            c@contoso.example,SALES,assign
            d@contoso.example,SALES,assign
            e@contoso.example,SALES,assign
        """,
    )  # fmt: skip
    # 3 units, 1 held: the removal goes first, so a, b and c fit and d, e are past capacity.
    assert outcomes(result, "licenses") == [
        "changed",
        "changed",
        "changed",
        "changed",
        "failed",
        "failed",
    ]
    refused = problems(result, "R14")
    assert refused["source_row"].tolist() == ["6", "7"]
    assert set(changes(result, "assign_license")["key"]) == {
        "a@contoso.example|SALES", "b@contoso.example|SALES", "c@contoso.example|SALES",
    }  # fmt: skip
    assert result.exit_code == 4


def test_license_for_user_without_usage_location_fails_with_r15(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,first_name\nnoloc@contoso.example,No\n",
        licenses="user_principal_name,sku\nnoloc@contoso.example,SALES\n",
    )  # fmt: skip
    assert outcomes(result, "licenses") == ["failed"]
    assert "usage location" in problems(result, "R15")["message"].iloc[0]


def test_usage_location_option_fills_missing_location(tmp_path):
    from userbatch import jobs

    state = make_store(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "users.csv").write_text("user_principal_name\nnoloc@contoso.example\n")
    (folder / "licenses.csv").write_text("user_principal_name,sku\nnoloc@contoso.example,SALES\n")
    result = jobs.run_plan(
        [folder], state=state, read=jobs.ReadOptions(usage_location="DE"), report_dir=tmp_path / "r"
    )
    assert outcomes(result, "licenses") == ["changed"]


def test_unknown_sku_and_unknown_user_fail_by_name(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location\na@contoso.example,US\n",
        licenses="""
            user_principal_name,sku
            a@contoso.example,NOPE
            ghost@contoso.example,SALES
        """,
    )  # fmt: skip
    assert outcomes(result, "licenses") == ["failed", "failed"]
    assert len(problems(result, "unknown_sku")) == 1
    unknown = problems(result, "unknown_user")
    assert unknown[unknown["level"] == "error"]["key"].tolist() == ["ghost@contoso.example|SALES"]


def test_license_of_an_invalid_user_row_is_skipped(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location\nbad@contoso.example,Germany\n",
        licenses="user_principal_name,sku\nbad@contoso.example,SALES\n",
    )  # fmt: skip
    assert outcomes(result, "users") == ["invalid"]
    assert outcomes(result, "licenses") == ["skipped"]


def test_sku_is_matched_case_insensitively(tmp_path):
    state = make_store(tmp_path)
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location\na@contoso.example,US\n",
        licenses="user_principal_name,sku\nA@Contoso.example,sales\n",
    )  # fmt: skip
    assert changes(result, "assign_license")["key"].tolist() == ["a@contoso.example|SALES"]
