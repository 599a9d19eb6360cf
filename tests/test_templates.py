"""templates: blank CSVs per kind and a workbook that explains itself; committed copies current."""

from pathlib import Path

import openpyxl
import pytest

from userbatch.templates import README_SHEET, WORKBOOK_NAME, write_templates
from userbatch.vocabulary import ACTIONS, COLUMNS, KINDS, MAX_LENGTH, REQUIRED

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = [ROOT / "templates", ROOT / "src" / "userbatch" / "templates"]
FILES = [f"{kind}.csv" for kind in KINDS] + [WORKBOOK_NAME]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("templates")
    write_templates(out)
    return out


def _workbook_shape(path):
    """What a person sees of the workbook: sheets, headers, frozen panes, dropdowns."""
    book = openpyxl.load_workbook(path)
    shape = {}
    for sheet in book:
        validations = sorted(
            (str(v.sqref), v.type, v.formula1) for v in sheet.data_validations.dataValidation
        )
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        shape[sheet.title] = (sheet.freeze_panes, rows, validations)
    return shape


def test_a_template_per_kind_and_a_workbook(fresh):
    assert sorted(p.name for p in fresh.iterdir()) == sorted(FILES)


def test_csv_templates_are_a_header_row_of_the_kind_columns(fresh):
    for kind in KINDS:
        assert (fresh / f"{kind}.csv").read_text() == ",".join(COLUMNS[kind]) + "\n"


def test_workbook_data_sheets_are_blank_with_frozen_headers(fresh):
    book = openpyxl.load_workbook(fresh / WORKBOOK_NAME)
    assert book.sheetnames == [*KINDS, README_SHEET]
    for kind in KINDS:
        sheet = book[kind]
        assert [c.value for c in sheet[1]] == list(COLUMNS[kind])
        assert sheet.max_row == 1
        assert sheet.freeze_panes == "A2"


def test_enum_columns_have_dropdowns(fresh):
    book = openpyxl.load_workbook(fresh / WORKBOOK_NAME)
    lists = {}
    for kind in KINDS:
        sheet = book[kind]
        headers = [c.value for c in sheet[1]]
        for validation in sheet.data_validations.dataValidation:
            assert validation.type == "list"
            column = headers[openpyxl.utils.column_index_from_string(
                str(validation.sqref).split(":")[0].rstrip("0123456789")) - 1]  # fmt: skip
            lists[(kind, column)] = validation.formula1.strip('"').split(",")
    for kind, actions in ACTIONS.items():
        assert lists[(kind, "action")] == list(actions)
    assert lists[("users", "access_mode")] == ["read-write", "administrative", "non-interactive"]
    assert lists[("users", "user_type")] == ["interactive", "application"]
    assert lists[("users", "sign_in_allowed")] == ["yes", "no"]
    assert len(lists[("users", "admin_role")]) == 3


def test_readme_sheet_explains_every_column(fresh):
    sheet = openpyxl.load_workbook(fresh / WORKBOOK_NAME)[README_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    described = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in rows[1:] if r[1]}
    for kind in KINDS:
        for column in COLUMNS[kind]:
            row = described[(kind, column)]
            assert row["description"], (kind, column)
            assert (row["required"] == "required") == (column in REQUIRED[kind])
            assert row["max length"] == MAX_LENGTH.get(column)
    assert "upsert" in described[("users", "action")]["allowed values"]


@pytest.mark.parametrize("folder", COMMITTED, ids=["templates", "package"])
def test_committed_templates_match_freshly_generated_ones(fresh, folder):
    hint = "regenerate: python -m userbatch.templates templates src/userbatch/templates"
    for kind in KINDS:
        name = f"{kind}.csv"
        assert (folder / name).read_text() == (fresh / name).read_text(), hint
    shape = _workbook_shape(folder / WORKBOOK_NAME)
    assert shape == _workbook_shape(fresh / WORKBOOK_NAME), hint
