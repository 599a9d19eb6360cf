"""validate() on what the readers make of real files: rows and names as the user sees them."""

from userbatch.io.readers import read_inputs
from userbatch.validate import validate

M365_HEADER = (
    "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,"
    "Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,"
    "ZIP or Postal Code,Country or Region"
)


def test_m365_template_problems_point_at_spreadsheet_rows(tmp_path):
    rows = [
        "adele@contoso.com,Adele,Vance,Adele Vance,Sales,,,,,,adele@fabrikam.com,,,,,US",
        "alex@contoso.com,Alex,Wilber,Alex Wilber," + "x" * 70 + ",,,,,,,,,,,",
        "ADELE@contoso.com,Adele,V,,,,,,,,,,,,,",
    ]
    path = tmp_path / "users.csv"
    path.write_text("\n".join([M365_HEADER, *rows]) + "\n", encoding="utf-8")
    validation = validate(read_inputs([path]))
    problems = validation.problems.frame()
    errors = problems[problems["level"] == "error"]
    assert errors[["source_row", "column", "rule"]].values.tolist() == [
        [3, "job_title", "max_length"],
        [4, "user_principal_name", "duplicate"],
    ]
    assert errors["message"].tolist()[1].startswith("duplicate of ")
    assert errors["message"].tolist()[1].endswith("users.csv row 2")
    assert validation.frames["users"]["outcome"].tolist() == ["valid", "invalid", "invalid"]
    assert validation.exit_code(strict=False) == 4


def test_header_only_file_rejected_gives_exit_3(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user_principal_name,first_name\n", encoding="utf-8")
    validation = validate(read_inputs([path]))
    assert validation.exit_code(strict=False) == 3
