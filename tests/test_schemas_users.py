"""The users schema (SPEC §2): each check names its rule, the row and an administrator's message."""

from types import SimpleNamespace

import pandas as pd
import pytest

from userbatch.problems import Problems
from userbatch.schemas.common import ISO_3166_ALPHA2
from userbatch.validate import validate


def users(*rows: dict, file: str = "users.csv") -> pd.DataFrame:
    """A users kind frame as the readers make it: str columns, spreadsheet row numbers."""
    rows = [{"user_principal_name": f"user{n}@contoso.com", **row} for n, row in enumerate(rows)]
    frame = pd.DataFrame(rows, dtype="str")
    frame.insert(0, "source_file", file)
    frame["source_row"] = range(2, len(frame) + 2)
    return frame


def check(*rows: dict):
    read = SimpleNamespace(
        frames={"users": users(*rows)},
        columns={},
        problems=Problems(),
        inputs=[],
        rejected_files=[],
    )
    validation = validate(read)
    return validation, validation.problems.frame()


def only_problem(*rows: dict) -> pd.Series:
    _, problems = check(*rows)
    assert len(problems) == 1, problems[["rule", "message"]]
    return problems.iloc[0]


def test_blank_user_principal_name_is_required():
    problem = only_problem({}, {"user_principal_name": None, "first_name": "Alex"})
    assert (problem["rule"], problem["column"], problem["source_row"]) == (
        "required",
        "user_principal_name",
        3,
    )
    assert problem["message"] == "user_principal_name is required"
    assert (problem["entity"], problem["level"]) == ("user", "error")


def test_clear_cannot_empty_a_required_column():
    problem = only_problem({"user_principal_name": "(clear)"})
    assert problem["rule"] == "required"
    assert problem["message"] == "user_principal_name is required; (clear) cannot empty it"


def test_job_title_over_64_characters_names_both_lengths():
    problem = only_problem({"job_title": "x" * 70})
    assert (problem["rule"], problem["column"], problem["source_row"]) == (
        "max_length",
        "job_title",
        2,
    )
    assert problem["message"] == "job_title is 70 characters; Microsoft 365 allows at most 64"


def test_limits_count_characters_not_bytes():
    _, problems = check({"job_title": "é" * 64, "display_name": "ü" * 256})
    assert problems.empty


@pytest.mark.parametrize(
    "upn",
    [
        "adele vance@contoso.com",
        "adele.vance",
        "adele@contoso",
        "müller@contoso.com",
        "a@@contoso.com",
    ],
)
def test_malformed_upn_fails_upn_syntax(upn):
    problem = only_problem({"user_principal_name": upn})
    assert (problem["rule"], problem["value"]) == ("upn_syntax", upn)
    assert "is not a valid user name" in problem["message"]


def test_upn_over_79_characters_fails_max_length():
    upn = "a" * 70 + "@contoso.com"
    problem = only_problem({"user_principal_name": upn})
    assert problem["rule"] == "max_length"
    assert (
        problem["message"]
        == "user_principal_name is 82 characters; Microsoft 365 allows at most 79"
    )


def test_upn_with_apostrophe_and_subdomain_is_valid():
    _, problems = check({"user_principal_name": "o'brien_j-1@eu.contoso.co.uk"})
    assert problems.empty


def test_email_without_domain_fails_email_syntax():
    problem = only_problem({"email": "adele.vance"})
    assert (problem["rule"], problem["column"]) == ("email_syntax", "email")
    assert problem["message"] == (
        "email 'adele.vance' is not an email address of the form name@domain.tld"
    )


def test_unknown_usage_location_fails_and_known_one_passes_in_any_case():
    problem = only_problem(
        {"usage_location": "us"}, {"usage_location": "XX"}, {"usage_location": "gb"}
    )
    assert (problem["rule"], problem["value"], problem["source_row"]) == ("usage_location", "XX", 3)


def test_usage_location_list_is_the_official_one():
    assert len(ISO_3166_ALPHA2) == 249
    assert {"US", "GB", "DE", "NA", "SS", "XK"} & ISO_3166_ALPHA2 == {"US", "GB", "DE", "NA", "SS"}


@pytest.mark.parametrize("spelling", ["Read Write", "readwrite", "READ-WRITE", "NON-INTERACTIVE"])
def test_access_mode_spellings_pass(spelling):
    _, problems = check({"access_mode": spelling})
    assert problems.empty


def test_unknown_access_mode_fails_enum_listing_the_choices():
    problem = only_problem({"access_mode": "sometimes"})
    assert problem["rule"] == "enum"
    assert problem["message"] == (
        "access_mode 'sometimes' is not one of read-write, administrative, non-interactive"
    )


@pytest.mark.parametrize(
    "spelling",
    ["Global admin", "global administrator", "Power-Platform Admin", "DYNAMICS 365 ADMINISTRATOR"],
)
def test_admin_role_accepts_admin_or_administrator(spelling):
    _, problems = check({"admin_role": spelling})
    assert problems.empty


def test_other_admin_role_fails_enum():
    problem = only_problem({"admin_role": "Exchange admin"})
    assert (problem["rule"], problem["column"]) == ("enum", "admin_role")


def test_unknown_user_type_and_action_fail_enum():
    _, problems = check({"user_type": "robot"}, {"action": "remove"})
    assert problems[["column", "rule", "source_row"]].values.tolist() == [
        ["user_type", "enum", 2],
        ["action", "enum", 3],
    ]


def test_sign_in_allowed_takes_yes_no_true_false_one_zero_only():
    rows = [{"sign_in_allowed": v} for v in ("Yes", "no", "TRUE", "false", "1", "0", "maybe")]
    _, problems = check(*rows)
    assert problems[["rule", "value", "source_row"]].values.tolist() == [["boolean", "maybe", 8]]


def test_application_user_needs_an_application_id():
    problem = only_problem({"user_type": "Application"})
    assert (problem["rule"], problem["column"]) == ("application_id", "application_id")
    assert problem["message"] == "user_type application needs an application_id (the app's GUID)"


def test_application_id_must_be_a_guid():
    problem = only_problem({"user_type": "application", "application_id": "my-app"})
    assert (problem["rule"], problem["value"]) == ("application_id", "my-app")
    assert "is not a GUID" in problem["message"]


def test_application_user_with_guid_is_valid():
    guid = "4F3C2B1A-0000-4000-8000-00000000ABCD"
    validation, problems = check({"user_type": "application", "application_id": guid})
    assert problems.empty
    assert validation.frames["users"]["user_type"].tolist() == ["application"]


def test_clear_is_accepted_in_optional_text_and_enum_fields():
    row = {
        column: "(clear)"
        for column in ("job_title", "email", "usage_location", "sign_in_allowed", "admin_role")
    }
    validation, problems = check({**row, "access_mode": "(Clear)", "application_id": "(clear)"})
    assert problems.empty
    frame = validation.frames["users"]
    assert frame.loc[0, "access_mode"] == "(clear)"  # one spelling for plan to read
    assert frame.loc[0, "usage_location"] == "(clear)"


def test_password_never_appears_in_problems():
    secret = "Hunter2!" + "x" * 300
    _, problems = check({"password": secret, "user_type": "application"}, {"password": secret})
    assert not problems.astype(str).apply(lambda c: c.str.contains("Hunter2")).any().any()
    assert len(problems) == 1  # the application_id one; the password is not checked
