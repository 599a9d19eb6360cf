"""validate(): duplicates, cross-file references, normalization, outcomes and exit codes."""

from dataclasses import dataclass, field

import pandas as pd
import pytest

from userbatch.problems import Problems
from userbatch.validate import validate
from userbatch.vocabulary import KINDS


@dataclass
class Read:
    """A stand-in for the readers' ReadResult (validate() takes it duck-typed)."""

    frames: dict
    columns: dict = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    inputs: list = field(default_factory=list)
    rejected_files: list = field(default_factory=list)


def frame(*rows: dict, file: str, sheet: str | None = None, first_row: int = 2) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), dtype="str")
    frame.insert(0, "source_file", file)
    frame.insert(1, "source_sheet", pd.Series(sheet, index=frame.index, dtype="str"))
    frame["source_row"] = range(first_row, len(frame) + first_row)
    return frame


def users(*upns: str, file: str = "users.csv", **columns) -> pd.DataFrame:
    return frame(*({"user_principal_name": upn, **columns} for upn in upns), file=file)


def problems_of(validation, rule: str) -> pd.DataFrame:
    problems = validation.problems.frame()
    return problems[problems["rule"] == rule].reset_index(drop=True)


# --- duplicates ---


def test_later_user_with_same_upn_in_other_case_is_a_duplicate_of_the_first():
    validation = validate(Read({"users": users("a@contoso.com", "b@contoso.com", "A@Contoso.COM")}))
    dup = problems_of(validation, "duplicate")
    assert dup[["source_row", "value", "level"]].values.tolist() == [[4, "A@Contoso.COM", "error"]]
    assert dup.loc[0, "message"] == "duplicate of users.csv row 2"
    assert validation.frames["users"]["outcome"].tolist() == ["valid", "valid", "invalid"]


def test_duplicate_across_files_and_sheets_names_the_first_place():
    first = frame({"user_principal_name": "a@contoso.com"}, file="book.xlsx", sheet="users")
    second = users("a@contoso.com", file="more.csv")
    validation = validate(Read({"users": pd.concat([first, second], ignore_index=True)}))
    assert problems_of(validation, "duplicate")["message"].tolist() == [
        "duplicate of book.xlsx sheet users row 2"
    ]


@pytest.mark.parametrize(
    ("kind", "first", "again"),
    [
        (
            "licenses",
            {"user_principal_name": "a@contoso.com", "sku": "ENTERPRISEPACK"},
            {"user_principal_name": "A@contoso.com", "sku": "enterprisepack", "action": "remove"},
        ),
        (
            "memberships",
            {"group": "Sales", "member": "a@contoso.com"},
            {"group": "SALES", "member": "A@contoso.com"},
        ),
        (
            "roles",
            {"user_principal_name": "a@contoso.com", "role": "Basic User", "environment": "Prod"},
            {"user_principal_name": "a@contoso.com", "role": "basic user", "environment": "prod"},
        ),
        (
            "records",
            {"table": "account", "record_id": "42", "owner": "Nestor"},
            {"table": "Account", "record_id": "42", "owner": "Adele"},
        ),
    ],
)
def test_each_kind_finds_duplicates_by_its_key(kind, first, again):
    other = {**first}
    other[next(iter(first))] = "other@contoso.com"
    validation = validate(Read({kind: frame(first, other, again, file=f"{kind}.csv")}))
    dup = problems_of(validation, "duplicate")
    assert dup[["source_row", "message"]].values.tolist() == [[4, f"duplicate of {kind}.csv row 2"]]
    assert dup.loc[0, "value"] == again[dup.loc[0, "column"]]  # the cell as written
    assert validation.frames[kind]["outcome"].tolist() == ["valid", "valid", "invalid"]


@pytest.mark.parametrize(
    ("kind", "first", "again"),
    [
        (
            "licenses",
            {"user_principal_name": "a@contoso.com", "sku": "E3"},
            {"user_principal_name": "A@CONTOSO.com", "sku": "e3"},
        ),
        ("memberships", {"group": "Sales", "member": "Ops"}, {"group": "sales", "member": "OPS"}),
        (
            "roles",
            {"user_principal_name": "a@contoso.com", "role": "Basic User"},
            {"user_principal_name": "A@contoso.com", "role": "BASIC USER"},
        ),
    ],
)
def test_duplicates_are_found_alike_beside_a_users_input(kind, first, again):
    other = {**first}
    other[next(iter(first))] = "other@contoso.com"
    frames = {"users": users("a@contoso.com"), kind: frame(first, other, again, file="in.csv")}
    validation = validate(Read(frames))
    dup = problems_of(validation, "duplicate")
    assert dup[["source_row", "message"]].values.tolist() == [[4, "duplicate of in.csv row 2"]]


def test_keys_holding_a_pipe_compare_as_the_joined_key():
    # The key joins its parts with "|": E3|X for a@contoso.com reads like X for a@contoso.com|E3.
    licenses = frame(
        {"user_principal_name": "a@contoso.com", "sku": "E3|X"},
        {"user_principal_name": "A@contoso.com|e3", "sku": "x"},
        file="licenses.csv",
    )
    validation = validate(Read({"users": users("a@contoso.com"), "licenses": licenses}))
    dup = problems_of(validation, "duplicate")
    assert dup[["source_row", "message"]].values.tolist() == [
        [3, "duplicate of licenses.csv row 2"]
    ]


def test_blank_keys_are_required_errors_not_duplicates():
    validation = validate(Read({"users": users(None, None)}))
    assert problems_of(validation, "duplicate").empty
    assert len(problems_of(validation, "required")) == 2


# --- unknown users (cross-file, warning) ---


def test_license_for_a_user_absent_from_the_users_input_is_a_warning():
    licenses = frame(
        {"user_principal_name": "A@contoso.com", "sku": "E3"},
        {"user_principal_name": "z@contoso.com", "sku": "E3"},
        file="licenses.csv",
    )
    validation = validate(Read({"users": users("a@contoso.com"), "licenses": licenses}))
    unknown = problems_of(validation, "unknown_user")
    assert unknown[["source_row", "level", "entity"]].values.tolist() == [[3, "warning", "license"]]
    assert unknown.loc[0, "message"] == (
        "user_principal_name z@contoso.com is not in this input's users; "
        "checked against the environment at plan time"
    )
    assert validation.frames["licenses"]["outcome"].tolist() == ["valid", "valid"]


def test_membership_of_a_group_member_is_not_an_unknown_user():
    memberships = frame(
        {"group": "Sales", "member": "Sales EMEA"},
        {"group": "Sales", "member": "nobody@contoso.com"},
        file="memberships.csv",
    )
    validation = validate(Read({"users": users("a@contoso.com"), "memberships": memberships}))
    assert problems_of(validation, "unknown_user")["source_row"].tolist() == [3]


def test_without_a_users_input_references_are_left_to_plan():
    roles = frame({"user_principal_name": "z@contoso.com", "role": "Basic User"}, file="roles.csv")
    validation = validate(Read({"roles": roles}))
    assert validation.problems.frame().empty


def test_user_of_an_invalid_users_row_still_counts_as_in_the_input():
    bad = users("a@contoso.com", job_title="x" * 65)
    licenses = frame({"user_principal_name": "a@contoso.com", "sku": "E3"}, file="licenses.csv")
    validation = validate(Read({"users": bad, "licenses": licenses}))
    assert problems_of(validation, "unknown_user").empty


# --- normalization ---


def test_valid_users_rows_are_normalized():
    row = {
        "user_principal_name": "Adele@Contoso.com",
        "usage_location": "us",
        "sign_in_allowed": "TRUE",
        "admin_role": "global administrator",
        "access_mode": "Read Write",
        "user_type": "INTERACTIVE",
        "job_title": "(CLEAR)",
    }
    validation = validate(
        Read({"users": frame(row, {**row, "sign_in_allowed": "0"}, file="u.csv")})
    )
    got = validation.frames["users"]
    assert got.loc[
        0, ["key", "user_principal_name", "usage_location", "sign_in_allowed"]
    ].tolist() == [
        "adele@contoso.com",
        "Adele@Contoso.com",  # kept as written for display
        "US",
        "yes",
    ]
    assert got.loc[
        0, ["admin_role", "access_mode", "user_type", "action", "job_title"]
    ].tolist() == [
        "Global admin",
        "read-write",
        "interactive",
        "upsert",
        "(clear)",
    ]
    assert got.loc[1, "outcome"] == "invalid"  # the duplicate keeps what was written
    assert got.loc[1, "sign_in_allowed"] == "0"


def test_blank_optional_enums_stay_blank():
    validation = validate(Read({"users": users("a@contoso.com")}))
    got = validation.frames["users"].loc[0]
    assert got[["access_mode", "user_type", "sign_in_allowed"]].isna().all()
    assert got["action"] == "upsert"


def test_every_kind_gets_key_and_outcome_even_when_absent():
    validation = validate(Read({"users": users("a@contoso.com")}))
    for kind in KINDS:
        assert {"key", "outcome", "source_row"} <= set(validation.frames[kind].columns)
        assert kind in validation.columns


def test_frames_of_object_dtype_are_accepted():
    legacy = pd.DataFrame(
        {"source_file": ["u.csv"], "source_row": [2], "user_principal_name": ["a@contoso.com"]}
    )
    validation = validate(Read({"users": legacy.astype({"user_principal_name": object})}))
    assert validation.frames["users"]["outcome"].tolist() == ["valid"]


def test_reading_problems_come_first_and_are_kept():
    reading = Problems()
    reading.add_one(level="warning", rule="unknown_column", message="column Nickname is ignored")
    validation = validate(Read({"users": users("bad")}, problems=reading))
    assert validation.problems.frame()["rule"].tolist() == ["unknown_column", "upn_syntax"]


# --- exit codes (SPEC §6) ---


def outcome(*upns, rejected=()):
    return validate(Read({"users": users(*upns)}, rejected_files=list(rejected)))


@pytest.mark.parametrize(
    ("validation", "normal", "strict"),
    [
        pytest.param(lambda: outcome("a@contoso.com"), 0, 0, id="all valid"),
        pytest.param(lambda: outcome("a@contoso.com", "bad"), 4, 3, id="some invalid"),
        pytest.param(lambda: outcome("bad", None), 3, 3, id="none valid"),
        pytest.param(
            lambda: outcome(rejected=["users.csv: no rows"]), 3, 3, id="every file rejected"
        ),
        pytest.param(
            lambda: outcome("a@contoso.com", rejected=["x.csv: dup"]), 4, 3, id="one file rejected"
        ),
        pytest.param(lambda: validate(Read({})), 3, 3, id="nothing at all"),
    ],
)
def test_exit_code(validation, normal, strict):
    result = validation()
    assert (result.exit_code(strict=False), result.exit_code(strict=True)) == (normal, strict)


def test_warnings_alone_do_not_change_the_exit_code():
    licenses = frame({"user_principal_name": "z@contoso.com", "sku": "E3"}, file="licenses.csv")
    validation = validate(Read({"users": users("a@contoso.com"), "licenses": licenses}))
    assert len(problems_of(validation, "unknown_user")) == 1
    assert validation.exit_code(strict=True) == 0
