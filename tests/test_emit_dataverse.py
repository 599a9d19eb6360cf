"""Emit (issue 6): Dataverse import files for the Data Import Wizard, one per table."""

import csv

from tests.engine.helpers import make_store
from tests.test_emit_entra import emit
from tests.test_emit_powershell import named, parse_script

USERS = """
    user_principal_name,first_name,last_name,usage_location
    ann@contoso.example,Ann,Lee,US
"""
RECORDS = """
    table,record_id,owner,name,revenue
    account,A-1,Ann Lee,Alpha,
    account,A-2,ann@contoso.example,"Beta, Inc.",
    contact,C-1,Pat Legacy,=Gamma,100
"""


def read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def test_records_go_one_file_per_table_with_owners_resolved_and_stubs_r12(tmp_path):
    # Ann is in the environment's security group, so she is one of its environment users.
    state = make_store(
        tmp_path, users=USERS, memberships="group,member\nSG-Sales,ann@contoso.example\n"
    )
    _, paths = emit(tmp_path, state, records=RECORDS, env="sales")
    by_name = {p.name: p for p in paths}
    accounts = read(by_name["records-sales-account.csv"])
    # revenue is empty for every account: left out, nothing to map.
    assert accounts == [
        ["record_id", "name", "owner"],
        ["A-1", "Alpha", "ann@contoso.example"],  # full name resolved to the user name
        ["A-2", "Beta, Inc.", "ann@contoso.example"],
    ]
    contacts = read(by_name["records-sales-contact.csv"])
    # A stub's user name is the owner as first written; values unaltered (no neutralization).
    assert contacts == [
        ["record_id", "name", "revenue", "owner"],
        ["C-1", "=Gamma", "100", "Pat Legacy"],
    ]
    assert by_name["records-sales-contact.csv"].read_bytes().startswith(b"\xef\xbb\xbf")


def test_records_moved_from_a_stub_to_a_new_user_are_emitted_with_their_stored_columns_r13(
    tmp_path,
):
    state = make_store(tmp_path, environments="name,kind\nopen,dynamics365\n")
    records = "table,record_id,owner,name\naccount,A-1,pat@contoso.example,Alpha\n"
    emit(tmp_path, state, name="stub", records=records)
    result, paths = emit(
        tmp_path, state, name="real", reassign_stub_records=True,
        users="user_principal_name,usage_location\npat@contoso.example,US\n",
    )  # fmt: skip
    assert result.plan.report_changes()["change"].eq("reassign_record").sum() == 1
    (path,) = [p for p in paths if p.name.startswith("records-")]
    assert read(path) == [["record_id", "name", "owner"], ["A-1", "Alpha", "pat@contoso.example"]]


def test_a_group_as_member_is_added_by_the_script_not_the_portal_file(tmp_path):
    state = make_store(tmp_path, groups="name\nSG-Sales\nSG-Inner\n")
    _, paths = emit(tmp_path, state, memberships="group,member\nSG-Sales,SG-Inner\n")
    assert not [p for p in paths if p.name.startswith("02-entra-bulk-")]
    script = next(p for p in paths if p.name == "userbatch-changes.ps1")
    (call,) = named(parse_script(script), "New-MgGroupMember")
    assert call.strings == ["SG-Sales", "SG-Inner"]
