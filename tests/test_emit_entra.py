"""Emit (issue 6): Entra ID bulk-operation CSVs that the portal takes unchanged."""

import csv
import os
import stat

import pytest

from tests.engine.helpers import make_store, run
from userbatch.apply import credentials_for
from userbatch.emit import write_emit
from userbatch.errors import UsageError

# Microsoft's templates, byte for byte (CRLF, as the template download has).
VERSION = b"version:v1.0\r\n"
CREATE_HEADER = (
    b"Name [displayName] Required,User name [userPrincipalName] Required,Initial password "
    b"[passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,First name "
    b"[givenName],Last name [surname],Job title [jobTitle],Department [department],Usage "
    b"location [usageLocation],Street address [streetAddress],State or province [state],"
    b"Country or region [country],Office [physicalDeliveryOfficeName],City [city],ZIP or "
    b"postal code [postalCode],Office phone [telephoneNumber],Mobile phone [mobile]\r\n"
)
DELETE_HEADER = b"User name [userPrincipalName] Required\r\n"
MEMBERS_HEADER = b"Member object ID or user principal name [memberObjectIdOrUpn] Required\r\n"

FIVE_USERS = """
    user_principal_name,first_name,last_name,display_name,job_title,usage_location,sign_in_allowed,password
    ann@contoso.example,Ann,Lee,,"Sales, North",US,yes,
    bob@contoso.example,Bob,Ray,Bob R.,=SUM(A1),US,no,Given-Pass-123!
    cy@contoso.example,,,,,US,,
    dee@contoso.example,Dee,,,,US,,
    eve@contoso.example,Eve,Ng,,,US,,
"""


def emit(tmp_path, state, *, chunk_rows=40_000, name="run", **files):
    """Apply ``files`` and emit into tmp_path/emit-<name>; return (result, paths)."""
    result = run(tmp_path, state, apply=True, name=name, **files)
    out = tmp_path / f"emit-{name}"
    paths = write_emit(
        out,
        result.plan,
        credentials_for(result.plan),
        report_dir=result.report_dir,
        chunk_rows=chunk_rows,
    )
    return result, paths


def data_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[2:]


def test_bulk_create_files_start_with_entras_two_header_lines_byte_for_byte(tmp_path):
    _, paths = emit(tmp_path, make_store(tmp_path), users=FIVE_USERS)
    created = [p for p in paths if p.name.startswith("01-entra-bulk-create-users-")]
    assert [p.name for p in created] == ["01-entra-bulk-create-users-001.csv"]
    data = created[0].read_bytes()
    assert data.startswith(VERSION + CREATE_HEADER)  # UTF-8 without BOM, as Entra's template


def test_five_created_users_with_chunks_of_two_make_three_files_of_two_two_and_one(tmp_path):
    _, paths = emit(tmp_path, make_store(tmp_path), users=FIVE_USERS, chunk_rows=2)
    created = sorted(p for p in paths if p.name.startswith("01-entra-bulk-create-users-"))
    assert [p.name[-7:] for p in created] == ["001.csv", "002.csv", "003.csv"]
    for path in created:
        assert path.read_bytes().startswith(VERSION + CREATE_HEADER)
    assert [len(data_rows(p)) for p in created] == [2, 2, 1]
    upns = [row[1] for p in created for row in data_rows(p)]
    assert upns == [f"{n}@contoso.example" for n in ("ann", "bob", "cy", "dee", "eve")]


def test_bulk_create_files_holding_passwords_are_mode_0600_r1(tmp_path):
    out = tmp_path / "emit-run"
    out.mkdir()
    stale_wide = out / "01-entra-bulk-create-users-001.csv"
    stale_wide.write_text("old")
    stale_wide.chmod(0o644)
    _, paths = emit(tmp_path, make_store(tmp_path), users=FIVE_USERS, chunk_rows=2)
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if path.name.startswith("01-entra-bulk-create-users-"):
            assert mode == 0o600, path
            continue
        # Only the bulk-create files hold passwords (R1).
        assert b"Given-Pass-123!" not in path.read_bytes(), path


def test_a_stale_chunk_of_an_earlier_emit_is_removed(tmp_path):
    state = make_store(tmp_path)
    emit(tmp_path, state, users=FIVE_USERS, chunk_rows=2)
    out = tmp_path / "emit-run"
    assert (out / "01-entra-bulk-create-users-003.csv").exists()
    # Nothing to create this time: no chunk of the first emit (with its passwords) is left.
    emit(tmp_path, state, users=FIVE_USERS, name="run")
    assert not list(out.glob("01-entra-bulk-create-users-*.csv"))


def test_created_user_rows_name_block_sign_in_and_password_r1(tmp_path):
    result, paths = emit(tmp_path, make_store(tmp_path), users=FIVE_USERS)
    rows = {row[1]: row for row in data_rows(paths[0])}
    # Name: display name, else first + last, else the UPN.
    assert rows["ann@contoso.example"][0] == "Ann Lee"
    assert rows["bob@contoso.example"][0] == "Bob R."
    assert rows["cy@contoso.example"][0] == "cy@contoso.example"
    assert rows["dee@contoso.example"][0] == "Dee"
    # Block sign in is the inverse of sign_in_allowed.
    assert rows["bob@contoso.example"][3] == "Yes" and rows["ann@contoso.example"][3] == "No"
    assert rows["bob@contoso.example"][2] == "Given-Pass-123!"
    assert len(rows["ann@contoso.example"][2]) >= 12
    assert rows["ann@contoso.example"][8] == "US"


def test_emitted_values_are_unaltered_and_quoted_per_rfc_4180(tmp_path):
    _, paths = emit(tmp_path, make_store(tmp_path), users=FIVE_USERS)
    data = paths[0].read_bytes()
    assert b',"Sales, North",' in data  # a comma is quoted
    assert b",=SUM(A1)," in data  # no formula neutralization for Microsoft's tools
    assert b"'=SUM" not in data


def test_delete_and_group_member_files_have_their_templates_header_lines(tmp_path):
    state = make_store(tmp_path, users="""
        user_principal_name,usage_location
        old@contoso.example,US
        stay@contoso.example,US
    """, memberships="group,member\nSG-Sales,stay@contoso.example\n")  # fmt: skip
    _, paths = emit(
        tmp_path, state,
        users="user_principal_name,usage_location,action\nold@contoso.example,US,delete\nnew@contoso.example,US,\n",
        memberships="group,member,action\nSG-Sales,new@contoso.example,add\nSG-Sales,stay@contoso.example,remove\n",
    )  # fmt: skip
    by_name = {p.name: p for p in paths}
    delete = by_name["04-entra-bulk-delete-users.csv"].read_bytes()
    assert delete == VERSION + DELETE_HEADER + b"old@contoso.example\r\n"
    add = by_name["02-entra-bulk-add-members-SG-Sales.csv"].read_bytes()
    assert add == VERSION + MEMBERS_HEADER + b"new@contoso.example\r\n"
    remove = by_name["02-entra-bulk-remove-members-SG-Sales.csv"].read_bytes()
    assert remove == VERSION + MEMBERS_HEADER + b"stay@contoso.example\r\n"
    readme = by_name["README.txt"].read_text(encoding="utf-8")
    order = [readme.index(name) for name in (
        "01-entra-bulk-create-users-001.csv", "02-entra-bulk-add-members-SG-Sales.csv",
        "userbatch-changes.ps1", "04-entra-bulk-delete-users.csv",
    )]  # fmt: skip
    assert order == sorted(order)


def test_emit_folder_inside_the_report_folder_is_a_usage_error(tmp_path):
    result = run(tmp_path, make_store(tmp_path), apply=True, users=FIVE_USERS)
    with pytest.raises(UsageError, match="inside the report folder"):
        write_emit(result.report_dir / "emit", result.plan, credentials_for(result.plan),
                   report_dir=result.report_dir)  # fmt: skip
    assert not (result.report_dir / "emit").exists()
