"""Blank input templates: a CSV per kind and one workbook (SPEC §2, §6 ``templates``).

The data sheets are deliberately blank (headers only): a template imported unchanged
must change nothing, so examples live in the README sheet, not in rows that would
create users. The copies committed in ``templates/`` and packaged in
``userbatch/templates/`` are regenerated with
``python -m userbatch.templates templates src/userbatch/templates``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from userbatch.vocabulary import (
    ACCESS_MODES,
    ACTIONS,
    ADMIN_ROLES,
    COLUMNS,
    DEFAULT_ACTION,
    FALSE_WORDS,
    KINDS,
    MAX_LENGTH,
    REQUIRED,
    TRUE_WORDS,
    USER_TYPES,
)

WORKBOOK_NAME = "userbatch-template.xlsx"
README_SHEET = "README"
# Not a kind's headers, so the readers skip this sheet with an info line (SPEC §2).
README_COLUMNS = (
    "sheet", "column", "required", "allowed values", "max length", "default", "example",
    "description",
)  # fmt: skip
# Dropdowns reach the last row Excel has.
LAST_ROW = 1_048_576

# Enum columns with a dropdown: the canonical values (inputs match them case- and
# hyphen-insensitively, so a dropdown warns rather than refuses other spellings).
YES_NO = ("yes", "no")
ENUMS = {
    **{(kind, "action"): values for kind, values in ACTIONS.items()},
    ("users", "sign_in_allowed"): YES_NO,
    ("users", "admin_role"): ADMIN_ROLES,
    ("users", "access_mode"): ACCESS_MODES,
    ("users", "user_type"): USER_TYPES,
}
DEFAULTS = {
    **{(kind, "action"): action for kind, action in DEFAULT_ACTION.items()},
    ("users", "sign_in_allowed"): "yes",
    ("users", "access_mode"): "read-write",
    ("users", "user_type"): "interactive",
    ("roles", "environment"): "the --env environment",
    ("records", "environment"): "the --env environment",
}
ALLOWED_TEXT = {
    ("users", "user_principal_name"): "name@domain (a verified domain when the store lists any)",
    ("users", "usage_location"): "two-letter ISO 3166 country code, e.g. US, GB, DE",
    ("users", "sign_in_allowed"): "/".join(TRUE_WORDS + FALSE_WORDS),
    ("users", "admin_role"): "Global, Power Platform or Dynamics 365, then admin or administrator",
    ("users", "application_id"): "a GUID",
    ("users", "email"): "an email address",
}
UPN = "ada.lovelace@contoso.com"
EXAMPLES = {
    "users": {
        "user_principal_name": UPN, "first_name": "Ada", "last_name": "Lovelace",
        "display_name": "Ada Lovelace", "job_title": "Analyst", "department": "Finance",
        "office": "B-204", "office_phone": "+1 425 555 0100", "mobile_phone": "+1 425 555 0101",
        "fax": "+1 425 555 0102", "email": "ada@contoso.com", "street_address": "1 Microsoft Way",
        "city": "Redmond", "state_or_province": "WA", "postal_code": "98052",
        "country_or_region": "United States", "usage_location": "US", "sign_in_allowed": "yes",
        "admin_role": "Power Platform admin", "access_mode": "read-write",
        "user_type": "interactive", "application_id": "00000000-0000-0000-0000-000000000000",
        "action": "upsert",
    },
    "licenses": {"user_principal_name": UPN, "sku": "DYN365_ENTERPRISE_PLAN1", "action": "assign"},
    "memberships": {"group": "Sales environment users", "member": UPN, "action": "add"},
    "roles": {
        "user_principal_name": UPN, "role": "Salesperson", "environment": "Contoso Sales",
        "action": "assign",
    },
    "records": {
        "table": "account", "record_id": "ACC-0001", "owner": UPN, "environment": "Contoso Sales",
    },
}  # fmt: skip
DESCRIPTIONS = {
    "users": {
        "user_principal_name": "Sign-in name; the user's key, compared lower-cased.",
        "first_name": "Given name. Full Name in the environment = first + last (R2).",
        "last_name": "Surname.",
        "display_name": "Shown name; the Full Name when first and last are blank.",
        "job_title": "Becomes the environment user's Title (R2).",
        "department": "Department.",
        "office": "Office location.",
        "office_phone": "Becomes Main Phone (R2).",
        "mobile_phone": "Becomes Mobile Phone (R2).",
        "fax": "Becomes Fax (R2).",
        "email": "Primary Email when the environment user is created; "
        "never overwritten later (R3).",
        "street_address": "Address parts are joined into the environment user's Address (R2).",
        "city": "City.",
        "state_or_province": "State or province.",
        "postal_code": "Postal code.",
        "country_or_region": "Country or region.",
        "usage_location": "Needed before a license can be assigned (R15); "
        "--usage-location fills it.",
        "sign_in_allowed": "no blocks sign-in; the environment user is then disabled (R4).",
        "admin_role": "Admins need no license to be enabled (R9).",
        "access_mode": "administrative and non-interactive need no license; "
        "at most 7 non-interactive users per environment (R10).",
        "user_type": "application users need application_id; "
        "they are non-interactive and enabled on creation (R10).",
        "application_id": "The app registration's ID, for user_type application.",
        "password": "Optional initial password for a new user, else one is generated (R1). "
        "Never stored; it appears only in credentials.csv.",
        "action": "upsert creates or updates; disable removes the user from the "
        "environment's security group (R7); delete deletes the tenant user.",
    },
    "licenses": {
        "user_principal_name": "The user holding the license.",
        "sku": "A SKU known to the store; seats never exceed its units (R14).",
        "action": "assign or remove; removals go first, then assignments in input order (R14).",
    },
    "memberships": {
        "group": "A security group known to the store (memberships create no group).",
        "member": "A user's UPN, or a group's name (nested members are not enabled, R5).",
        "action": "add or remove.",
    },
    "roles": {
        "user_principal_name": "The user getting the role; enabled in the planned state (R11).",
        "role": "A security role of the environment.",
        "environment": "The environment; blank means the --env environment.",
        "action": "assign or remove (removing every role does not disable a user, R8).",
    },
    "records": {
        "table": "The Dataverse table of the record.",
        "record_id": "The record's ID within its table.",
        "owner": "User name, primary email or full name of the owner; "
        "no match creates a stub user (R12).",
        "environment": "The environment; blank means the --env environment. "
        "Any other column is kept with the record.",
    },
}
COMMON_NOTES = (
    "A blank cell never changes a stored value; the value (clear) empties the field.",
    "Enum values match case- and hyphen-insensitively.",
    "Headers match ignoring case, spaces, _ and -.",
    "Rows start at row 2; reports name the row number Excel shows.",
)


def write_templates(out_dir: str | Path) -> list[Path]:
    """Write ``<kind>.csv`` (header row only) per kind and the workbook; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        path = out_dir / f"{kind}.csv"
        # A plain header row, the way people and Microsoft's templates write one.
        path.write_text(",".join(COLUMNS[kind]) + "\n", encoding="utf-8")
        paths.append(path)
    paths.append(write_workbook(out_dir / WORKBOOK_NAME))
    return paths


def write_workbook(path: Path) -> Path:
    """A sheet per kind (headers, frozen, dropdowns, cells formatted as text), then README."""
    book = Workbook()
    book.remove(book.active)
    for kind in KINDS:
        _kind_sheet(book.create_sheet(kind), kind)
    _readme_sheet(book.create_sheet(README_SHEET))
    book.save(path)
    return path


def _kind_sheet(sheet, kind: str) -> None:
    for index, column in enumerate(COLUMNS[kind], 1):
        cell = sheet.cell(row=1, column=index, value=column)
        cell.font = Font(bold=True)
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(len(column) + 4, 14)
        # Text format: Excel keeps "+1 425…" and "00123" as typed instead of a formula
        # or a number.
        dimension.number_format = "@"
        values = ENUMS.get((kind, column))
        if values:
            sheet.add_data_validation(_dropdown(values, f"{letter}2:{letter}{LAST_ROW}"))
    sheet.freeze_panes = "A2"


def _dropdown(values, sqref: str) -> DataValidation:
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(values) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",  # other spellings (e.g. "administrator", "true") are valid
        errorTitle="Not a listed value",
        error="userbatch accepts the listed values (any case); check the README sheet.",
    )
    validation.add(sqref)
    return validation


def readme_rows() -> list[tuple]:
    """One row per column of every kind: what it means and what it takes."""
    rows = []
    for kind in KINDS:
        for column in COLUMNS[kind]:
            values = ENUMS.get((kind, column))
            allowed = ALLOWED_TEXT.get((kind, column)) or ", ".join(values or ())
            rows.append(
                (
                    kind,
                    column,
                    "required" if column in REQUIRED[kind] else "",
                    allowed,
                    MAX_LENGTH.get(column, ""),
                    DEFAULTS.get((kind, column), ""),
                    EXAMPLES[kind].get(column, ""),
                    DESCRIPTIONS[kind].get(column, ""),
                )
            )
    return rows


def _readme_sheet(sheet) -> None:
    sheet.append(README_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in readme_rows():
        sheet.append(row)
    sheet.append(())
    for note in COMMON_NOTES:
        sheet.append(("", "", "", "", "", "", "", note))
    widths = (12, 22, 10, 40, 11, 22, 30, 90)
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=2):
        row[-1].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(README_COLUMNS))}{len(readme_rows()) + 1}"


if __name__ == "__main__":  # regenerate the committed copies
    for directory in sys.argv[1:]:
        write_templates(directory)
