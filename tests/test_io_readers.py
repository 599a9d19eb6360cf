"""Reading INPUT files into kind frames (SPEC §2, docs/ARCHITECTURE.md io.readers)."""

from __future__ import annotations

import hashlib
import shutil

import pandas as pd
import pytest

from userbatch.errors import UsageError
from userbatch.io import read_inputs
from userbatch.vocabulary import COLUMNS, SOURCE_COLUMNS


def problems(read, **where) -> pd.DataFrame:
    frame = read.problems.frame()
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame


def test_excel_csv_flavours_read_to_identical_frames(data_dir):
    # UTF-8 with BOM, cp1252 and UTF-16 tab-separated: what Excel's "Save as" offers.
    frames = [
        read_inputs([data_dir / name]).frames["users"].drop(columns="source_file")
        for name in ("users_utf8_bom.csv", "users_cp1252.csv", "users_utf16.csv")
    ]
    assert frames[0].loc[0, "display_name"] == "Zoë Müller"
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_cp1252_fallback_is_a_warning(data_dir):
    read = read_inputs([data_dir / "users_cp1252.csv"])
    warning = problems(read, rule="encoding")
    assert warning["level"].tolist() == ["warning"]
    assert "cp1252" in warning["message"].iloc[0]


def test_encoding_option_overrides_the_chain(write_csv):
    path = write_csv("users.csv", "user_principal_name,first_name\na@contoso.com,Zoë\n", "latin-1")
    read = read_inputs([path], encoding="latin-1")
    assert read.frames["users"]["first_name"].tolist() == ["Zoë"]
    assert problems(read, rule="encoding").empty


def test_unknown_encoding_is_a_usage_error(data_dir):
    with pytest.raises(UsageError):
        read_inputs([data_dir / "users_utf8_bom.csv"], encoding="klingon")


def test_country_na_stays_namibia(data_dir):
    users = read_inputs([data_dir / "users_utf8_bom.csv"]).frames["users"]
    assert users["country_or_region"].tolist()[-1] == "NA"


@pytest.mark.parametrize("name", ["users_semicolon.csv", "users_tab.csv"])
def test_semicolon_and_tab_delimiters_are_sniffed(data_dir, name):
    users = read_inputs([data_dir / name]).frames["users"]
    assert users[["user_principal_name", "first_name", "country_or_region"]].values.tolist() == [
        ["ann@contoso.com", "Ann", "NA"]
    ]


def test_m365_add_multiple_users_csv_reads_as_users(data_dir):
    read = read_inputs([data_dir / "m365_add_multiple_users.csv"])
    chris = read.frames["users"].iloc[0]
    assert chris["user_principal_name"] == "chris@contoso.com"
    assert chris["email"] == "chris@fabrikam.com"  # Alternate email address
    assert chris["street_address"] == "1 Microsoft way"  # Address
    assert chris["office"] == "123451"  # Office Number
    assert chris["postal_code"] == "98052"
    assert chris["country_or_region"] == "United States"
    assert problems(read, level="warning").empty
    assert read.columns["users"][:3] == ["user_principal_name", "first_name", "last_name"]


def test_entra_bulk_create_reads_as_users_with_block_sign_in_inverted(data_dir):
    read = read_inputs([data_dir / "entra_bulk_create_users.csv"])
    users = read.frames["users"]
    # The version line is row 1 and the headers row 2.
    assert users["source_row"].tolist() == [3, 4, 5]
    assert users["display_name"].tolist() == ["Chris Green", "Ben Andrews", "Ann Lee"]
    assert users["password"].tolist() == ["Pa55w.rd!2024", "Pa55w.rd!2025", "Pa55w.rd!2026"]
    # Block sign in No -> allowed; Yes -> not; anything else left for the schema to flag.
    assert users["sign_in_allowed"].tolist() == ["yes", "no", "maybe"]
    assert users.loc[0, "office"] == "123451"
    assert users.loc[0, "mobile_phone"] == "123-555-6641"
    assert "sign_in_allowed" in read.columns["users"]
    assert problems(read, level="warning").empty


def test_entra_download_users_maps_account_enabled_and_ignores_user_type(data_dir):
    read = read_inputs([data_dir / "entra_download_users.csv"])
    users = read.frames["users"]
    assert users["sign_in_allowed"].tolist() == ["True", "False"]  # not inverted
    assert users["user_type"].isna().all()  # Entra's Member/Guest is not our user_type
    assert users.loc[0, "email"] == "chris@contoso.com"  # mail, not alternateEmailAddress
    assert users.loc[0, "first_name"] == "Chris"
    assert users.loc[0, "office_phone"] == "123-555-1211"
    unknown = problems(read, rule="unknown_column", level="warning")["message"]
    assert unknown.str.contains("'id'").any()
    assert not unknown.str.contains("userType").any()


def test_entra_bulk_add_members_reads_as_memberships_of_the_group(data_dir):
    read = read_inputs([data_dir / "entra_bulk_add_members.csv"], group="Sales Team")
    members = read.frames["memberships"]
    assert members["group"].tolist() == ["Sales Team", "Sales Team"]
    assert members["member"].tolist()[0] == "chris@contoso.com"
    assert members["source_row"].tolist() == [3, 4]
    assert read.columns["memberships"] == ["member", "group"]


def test_entra_bulk_add_members_without_group_is_rejected(data_dir):
    read = read_inputs([data_dir / "entra_bulk_add_members.csv"])
    assert read.frames["memberships"].empty
    assert len(read.rejected_files) == 1 and "--group" in read.rejected_files[0]
    assert problems(read, level="error")["rule"].tolist() == ["missing_column"]


def test_kind_from_headers_when_the_name_says_nothing(write_csv):
    path = write_csv("batch-7.csv", "User principal name,SKU\na@contoso.com,ENTERPRISEPACK\n")
    read = read_inputs([path])
    assert len(read.frames["licenses"]) == 1  # the most specific kind, not users
    assert read.frames["users"].empty


def test_kind_by_name_when_it_has_the_kind_headers(write_csv):
    path = write_csv("users-extra.csv", "user_principal_name,sku\na@contoso.com,E5\n")
    read = read_inputs([path])
    assert len(read.frames["users"]) == 1
    assert "unknown column 'sku'" in problems(read, rule="unknown_column")["message"].iloc[0]


def test_file_named_like_a_kind_without_its_headers_is_rejected(data_dir):
    name = str(data_dir / "hostile" / "users_without_upn.csv")
    read = read_inputs([name])
    error = problems(read, level="error")
    assert error["rule"].tolist() == ["missing_column"]
    assert "user_principal_name" in error["message"].iloc[0]
    assert read.rejected_files == [error["message"].iloc[0]]
    assert name in read.rejected_files[0]


def test_csv_whose_headers_fit_no_kind_is_rejected(write_csv):
    read = read_inputs([write_csv("data.csv", "colour,size\nred,L\n")])
    assert problems(read, level="error")["rule"].tolist() == ["missing_column"]


def test_duplicate_headers_reject_the_file(data_dir):
    read = read_inputs([data_dir / "hostile" / "duplicate_headers.csv"])
    assert read.frames["users"].empty
    error = problems(read, level="error")
    assert error["rule"].tolist() == ["duplicate_header"]
    assert "first_name" in error["message"].iloc[0]


def test_header_only_file_is_rejected_with_no_rows(data_dir):
    read = read_inputs([data_dir / "hostile" / "header_only.csv"])
    assert problems(read, level="error")["rule"].tolist() == ["no_rows"]
    assert len(read.rejected_files) == 1


def test_row_wider_than_the_header_rejects_the_file(data_dir):
    read = read_inputs([data_dir / "hostile" / "ragged.csv"])
    assert problems(read, level="error")["rule"].tolist() == ["malformed_csv"]


def test_short_rows_are_padded(write_csv):
    path = write_csv("users.csv", "user_principal_name,first_name,city\na@contoso.com,Ann\n")
    users = read_inputs([path]).frames["users"]
    assert users.loc[0, "first_name"] == "Ann" and pd.isna(users.loc[0, "city"])


def test_blank_rows_are_skipped_but_numbering_kept(write_csv):
    text = "user_principal_name,first_name\n\na@contoso.com,A\n,\n  ,  \nb@contoso.com,B\n"
    users = read_inputs([write_csv("users.csv", text)]).frames["users"]
    assert users["source_row"].tolist() == [3, 6]
    assert users["source_row"].dtype == "int64"


def test_cells_are_trimmed_and_neutralizing_quote_dropped_with_warnings(write_csv):
    text = "user_principal_name,first_name,job_title\n a@contoso.com ,'=Ann,'plain\n"
    read = read_inputs([write_csv("users.csv", text)])
    user = read.frames["users"].iloc[0]
    assert user["user_principal_name"] == "a@contoso.com"
    assert user["first_name"] == "=Ann"
    assert user["job_title"] == "'plain"  # only a quote before = + - @ tab CR goes
    warned = problems(read, level="warning")
    assert warned[["source_row", "column", "value"]].values.tolist() == [
        [2, "user_principal_name", " a@contoso.com "],
        [2, "first_name", "'=Ann"],
    ]


def test_upns_stay_as_written(write_csv):
    users = read_inputs([write_csv("users.csv", "UPN\nAnn.Lee@Contoso.com\n")]).frames["users"]
    assert users["user_principal_name"].tolist() == ["Ann.Lee@Contoso.com"]


def test_empty_cells_are_missing_and_absent_columns_are_filled(write_csv):
    users = read_inputs([write_csv("users.csv", "user_principal_name,city\na@c.com,\n")]).frames[
        "users"
    ]
    assert list(users.columns) == [*SOURCE_COLUMNS, *COLUMNS["users"]]
    assert users["city"].isna().all() and users["fax"].isna().all()
    assert all(users[c].dtype == "str" for c in COLUMNS["users"])
    assert users["source_sheet"].isna().all()


def test_usage_location_fills_only_missing_values(write_csv):
    text = "user_principal_name,usage_location\na@c.com,\nb@c.com,GB\n"
    users = read_inputs([write_csv("users.csv", text)], usage_location="US").frames["users"]
    assert users["usage_location"].tolist() == ["US", "GB"]


def test_errors_file_source_columns_are_ignored_on_reimport(write_csv):
    text = "source_file,source_row,user_principal_name,sku,error\nin.csv,7,a@c.com,E5,unknown\n"
    read = read_inputs([write_csv("licenses.csv", text)])
    assert read.frames["licenses"]["source_row"].tolist() == [2]
    assert read.frames["licenses"]["source_file"].str.endswith("licenses.csv").all()
    assert problems(read, level="warning").empty


def test_records_keep_their_other_columns(write_csv):
    text = "table,record_id,owner,Topic,email\naccount,1,Ann Lee,Big deal,x@y.com\n"
    read = read_inputs([write_csv("records.csv", text)])
    records = read.frames["records"]
    assert records.loc[0, "Topic"] == "Big deal"
    assert records.loc[0, "email"] == "x@y.com"
    assert read.columns["records"] == ["table", "record_id", "owner", "Topic", "email"]
    assert problems(read, level="warning").empty


def test_kinds_concatenate_in_input_order(write_csv):
    second = write_csv("b/users.csv", "user_principal_name\nb@c.com\n")
    first = write_csv("a/users.csv", "user_principal_name\na@c.com\n")
    users = read_inputs([second, first]).frames["users"]
    assert users["user_principal_name"].tolist() == ["b@c.com", "a@c.com"]
    assert list(users.index) == [0, 1]


def test_folder_reads_its_tables_sorted_by_name(data_dir, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(data_dir / "users_utf8_bom.csv", folder / "users.csv")
    shutil.copy(data_dir / "entra_bulk_add_members.csv", folder / "a_members.csv")
    read = read_inputs([str(folder)], group="G")
    assert [i["path"] for i in read.inputs] == [
        str(folder / "a_members.csv"),
        str(folder / "users.csv"),
    ]
    assert read.frames["users"]["source_file"].iloc[0] == str(folder / "users.csv")


def test_inputs_carry_the_sha256_of_each_file(data_dir):
    path = data_dir / "m365_add_multiple_users.csv"
    read = read_inputs([str(path)])
    assert read.inputs == [
        {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    ]


def test_every_kind_is_present_even_when_empty(data_dir):
    frames = read_inputs([data_dir / "m365_add_multiple_users.csv"]).frames
    assert set(frames) == set(COLUMNS)
    assert list(frames["roles"].columns) == [*SOURCE_COLUMNS, *COLUMNS["roles"]]


def test_utf16_without_bom_reads_with_the_encoding_option(write_csv):
    path = write_csv("users.csv", "user_principal_name\tcity\na@c.com\tLyon\n", "utf-16-le")
    users = read_inputs([path], encoding="utf-16-le").frames["users"]
    assert users["city"].tolist() == ["Lyon"]


def test_non_breaking_spaces_are_trimmed_too(write_csv):
    path = write_csv("users.csv", "user_principal_name,city\na@c.com,\u00a0Lyon\u3000\n")
    assert read_inputs([path]).frames["users"]["city"].tolist() == ["Lyon"]


def test_blank_cells_are_missing_in_every_block_of_a_large_csv(write_csv, monkeypatch):
    # pyarrow parses a CSV in blocks; blanks are marked missing chunk by chunk, and the
    # first chunk starts after the header row.
    monkeypatch.setattr("userbatch.io.readers._BLOCK_BYTES", 64)
    rows = [f"u{i}@c.com,{'' if i % 3 else 'Ann'},{'' if i % 2 else ' x '}" for i in range(40)]
    path = write_csv("users.csv", "user_principal_name,first_name,city\n" + "\n".join(rows))
    read = read_inputs([path])
    users = read.frames["users"]
    assert users["first_name"].isna().tolist() == [bool(i % 3) for i in range(40)]
    assert users["city"].fillna("-").tolist() == ["-" if i % 2 else "x" for i in range(40)]
    assert problems(read, column="city")["source_row"].tolist() == list(range(2, 42, 2))


def test_rows_of_one_kind_from_two_files_keep_their_own_source_file(write_csv):
    first = write_csv("a/users.csv", "user_principal_name\na@c.com\nb@c.com\n")
    second = write_csv("b/users.csv", "user_principal_name\nc@c.com\n")
    users = read_inputs([first, second]).frames["users"]
    assert users["source_file"].astype("str").tolist() == [str(first), str(first), str(second)]
    assert users["source_row"].tolist() == [2, 3, 2]
