"""Reading .xlsx workbooks: one sheet per kind, sheets of no kind skipped (SPEC §2)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from userbatch.io import read_inputs, read_sheets


def problems(read, **where) -> pd.DataFrame:
    frame = read.problems.frame()
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame


def test_template_workbook_reads_kind_sheets_and_skips_the_others(make_workbook):
    path = make_workbook(
        "onboarding.xlsx",
        {
            "Read me": [["Note", "Note"], ["One row per user.", ""]],
            "users": [["user_principal_name", "first_name"], ["a@contoso.com", "Ann"]],
            "licenses": [["user_principal_name", "sku"]],
            "environments": [["name", "kind"], ["Sales", "dynamics365"]],
            "Sheet9": [["User Principal Name", "Security role"], ["a@contoso.com", "Basic User"]],
        },
    )
    read = read_inputs([path])
    users, roles = read.frames["users"], read.frames["roles"]
    assert users[["source_sheet", "source_row", "first_name"]].values.tolist() == [
        ["users", 2, "Ann"]
    ]
    assert roles["role"].tolist() == ["Basic User"]  # a sheet's kind from its headers
    skipped = problems(read, level="info")
    assert skipped["source_sheet"].tolist() == ["Read me", "licenses", "environments"]
    assert read.rejected_files == []


def test_sheet_named_like_a_kind_without_its_headers_is_rejected(make_workbook):
    path = make_workbook(
        "book.xlsx",
        {
            "users": [["first_name"], ["Ann"]],
            "roles": [["user_principal_name", "role"], ["a@contoso.com", "Basic User"]],
        },
    )
    read = read_inputs([path])
    error = problems(read, level="error")
    assert error[["source_sheet", "rule"]].values.tolist() == [["users", "missing_column"]]
    assert len(read.frames["roles"]) == 1
    assert "sheet users" in read.rejected_files[0]


def test_workbook_with_no_rows_of_any_kind_is_rejected(make_workbook):
    path = make_workbook("empty.xlsx", {"Read me": [["nothing here"]], "users": [["upn"]]})
    read = read_inputs([path])
    assert problems(read, level="error")["rule"].tolist() == ["no_rows"]
    assert len(read.rejected_files) == 1


def test_cells_read_as_excel_shows_them(make_workbook):
    path = make_workbook(
        "users.xlsx",
        {
            "users": [
                ["user_principal_name", "postal_code", "office", "sign_in_allowed", "job_title"],
                ["a@contoso.com", 98052, "0123", True, 1.5],
                ["b@contoso.com", 4255550100, dt.datetime(2024, 1, 2), False, None],
            ]
        },
    )
    users = read_inputs([path]).frames["users"]
    assert users["postal_code"].tolist() == ["98052", "4255550100"]
    assert users["office"].tolist() == ["0123", "2024-01-02"]
    assert users["sign_in_allowed"].tolist() == ["TRUE", "FALSE"]
    assert users.loc[0, "job_title"] == "1.5" and pd.isna(users.loc[1, "job_title"])


def test_sheet_row_numbers_are_the_spreadsheet_rows(make_workbook):
    rows = [
        [None],
        ["user_principal_name"],
        ["a@contoso.com"],
        [None],
        ["  "],
        ["b@contoso.com"],
    ]
    users = read_inputs([make_workbook("users.xlsx", {"users": rows})]).frames["users"]
    assert users["source_row"].tolist() == [3, 6]


def test_entra_version_row_in_a_sheet_is_row_one(make_workbook):
    rows = [["version:v1.0"], ["User name [userPrincipalName] Required"], ["a@contoso.com"]]
    users = read_inputs([make_workbook("users.xlsx", {"users": rows})]).frames["users"]
    assert users["source_row"].tolist() == [3]


def test_read_sheets_gives_snapshot_sheets_as_text(make_workbook):
    path = make_workbook(
        "snapshot.xlsx",
        {
            "environments": [["name", "kind"], ["Sales", "dynamics365"]],
            "skus": [["sku", "total_units"], ["ENTERPRISEPACK", 25], [None, None], ["E5", 3]],
        },
    )
    sheets = read_sheets(path)
    assert [(s.name, s.first_row) for s in sheets] == [("environments", 2), ("skus", 2)]
    skus = sheets[1].frame
    assert list(skus.columns) == ["sku", "total_units"]
    assert skus["total_units"].tolist()[0] == "25"
    assert len(skus) == 3 and skus.iloc[1].isna().all()  # rows kept; empty cells missing


def test_read_sheets_reads_a_folder_of_csvs(write_csv, tmp_path):
    write_csv("snap/skus.csv", "sku,total_units\nE5,10\n")
    write_csv("snap/domains.csv", "domain\ncontoso.com\n")
    sheets = read_sheets(tmp_path / "snap")
    assert [s.name for s in sheets] == ["domains", "skus"]
    assert sheets[1].frame.to_dict("records") == [{"sku": "E5", "total_units": "10"}]


def test_snapshot_only_sheets_are_skipped_even_when_headers_fit_a_kind(make_workbook):
    # environment_users has a user_name column, which reads as user_principal_name.
    path = make_workbook(
        "snapshot.xlsx",
        {
            "environment_users": [["environment", "user_name"], ["Sales", "a@contoso.com"]],
            "groups": [["name"], ["Sales team"]],
            "users": [["user_principal_name"], ["a@contoso.com"]],
        },
    )
    read = read_inputs([path])
    assert read.frames["users"]["source_sheet"].tolist() == ["users"]
    assert problems(read, level="info")["source_sheet"].tolist() == ["environment_users", "groups"]


def test_groups_sheet_with_group_and_member_is_memberships(make_workbook):
    path = make_workbook("in.xlsx", {"groups": [["group", "member"], ["Sales", "a@c.com"]]})
    assert len(read_inputs([path]).frames["memberships"]) == 1


def test_empty_sheet_named_like_a_kind_is_skipped(make_workbook):
    path = make_workbook(
        "in.xlsx", {"users": [["user_principal_name"], ["a@c.com"]], "licenses": []}
    )
    read = read_inputs([path])
    assert read.rejected_files == [] and len(read.frames["users"]) == 1
