"""The licenses, memberships, roles and records schemas (SPEC §2)."""

from types import SimpleNamespace

import pandas as pd
import pytest

from userbatch.problems import Problems
from userbatch.validate import validate


def frame(*rows: dict, file: str) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), dtype="str")
    frame.insert(0, "source_file", file)
    frame["source_row"] = range(2, len(frame) + 2)
    return frame


def check(kind: str, *rows: dict):
    read = SimpleNamespace(
        frames={kind: frame(*rows, file=f"{kind}.csv")},
        columns={},
        problems=Problems(),
        inputs=[],
        rejected_files=[],
    )
    validation = validate(read)
    return validation.frames[kind], validation.problems.frame()


@pytest.mark.parametrize(
    ("kind", "row", "column"),
    [
        ("licenses", {"user_principal_name": "a@contoso.com"}, "sku"),
        ("memberships", {"member": "a@contoso.com"}, "group"),
        ("roles", {"user_principal_name": "a@contoso.com"}, "role"),
        ("records", {"table": "account", "record_id": "1"}, "owner"),
    ],
)
def test_missing_required_value_is_reported_on_its_row(kind, row, column):
    rows, problems = check(kind, row)
    assert problems[["rule", "column", "source_row"]].values.tolist() == [["required", column, 2]]
    assert problems.loc[0, "message"] == f"{column} is required"
    assert rows["outcome"].tolist() == ["invalid"]


def test_license_upn_is_checked_for_syntax():
    _, problems = check("licenses", {"user_principal_name": "adele", "sku": "E3"})
    assert problems["rule"].tolist() == ["upn_syntax"]


def test_license_action_defaults_to_assign_and_is_canonical():
    rows, problems = check(
        "licenses",
        {"user_principal_name": "a@contoso.com", "sku": "E3"},
        {"user_principal_name": "b@contoso.com", "sku": "E3", "action": "REMOVE"},
        {"user_principal_name": "c@contoso.com", "sku": "E3", "action": "(clear)"},
    )
    assert problems.empty
    assert rows["action"].tolist() == ["assign", "remove", "assign"]
    assert rows["key"].tolist() == ["a@contoso.com|E3", "b@contoso.com|E3", "c@contoso.com|E3"]


def test_membership_action_must_be_add_or_remove():
    rows, problems = check(
        "memberships",
        {"group": "Sales", "member": "A@Contoso.com"},
        {"group": "Sales", "member": "b@contoso.com", "action": "assign"},
    )
    assert problems[["rule", "column", "source_row"]].values.tolist() == [["enum", "action", 3]]
    assert problems.loc[0, "message"] == "action 'assign' is not one of add, remove"
    assert rows["action"].tolist() == ["add", "assign"]  # the invalid row stays as written
    assert rows["key"].tolist() == ["Sales|a@contoso.com", "Sales|b@contoso.com"]


def test_role_key_carries_the_environment_even_when_blank():
    rows, problems = check(
        "roles",
        {"user_principal_name": "A@contoso.com", "role": "Basic User", "environment": "Prod"},
        {"user_principal_name": "a@contoso.com", "role": "Basic User"},
    )
    assert problems.empty
    assert rows["key"].tolist() == ["Prod|a@contoso.com|Basic User", "|a@contoso.com|Basic User"]
    assert rows["action"].tolist() == ["assign", "assign"]


def test_records_keep_their_other_columns_untouched():
    rows, problems = check(
        "records",
        {"table": "account", "record_id": "42", "owner": "Nestor Wilke", "name": "(Clear) Ltd"},
    )
    assert problems.empty
    assert rows.loc[0, "name"] == "(Clear) Ltd"
    assert rows.loc[0, "key"] == "|account|42"


def test_clear_cannot_empty_a_record_owner():
    _, problems = check("records", {"table": "account", "record_id": "42", "owner": "(clear)"})
    assert problems[["rule", "column"]].values.tolist() == [["required", "owner"]]
