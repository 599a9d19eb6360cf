"""io.writers.write_xlsx: a workbook Excel, LibreOffice, openpyxl and calamine all read
the same way, with every value kept as what it is (SPEC §7)."""

import datetime as dt
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from userbatch.io import writers
from userbatch.io.readers import read_sheets
from userbatch.io.writers import write_xlsx


def _sheet(path, name="s"):
    return openpyxl.load_workbook(path)[name]


def _column(sheet):
    """Column A below the header."""
    return [cell.value for cell in sheet["A"][1:]]


def test_formula_and_error_lookalikes_stay_text(tmp_path):
    text = ["=SUM(A1)", "+1 555", "@x", "#N/A", "#DIV/0!", "-5", "TRUE", "1e5"]
    frame = pd.DataFrame({"value": pd.Series(text, dtype="str")})
    sheet = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))
    assert _column(sheet) == text
    assert {cell.data_type for cell in sheet["A"][1:]} == {"s"}


def test_markup_characters_and_whitespace_come_back_as_written(tmp_path):
    text = ["a & <b> \"c\" 'd'", "&lt; stays literal", " lead", "trail ", "a\r\nb", "x\ty\nz"]
    frame = pd.DataFrame({"value": pd.Series(text, dtype="str")})
    assert _column(_sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))) == text


def test_numbers_stay_numbers_and_missing_values_are_empty_cells(tmp_path):
    frame = pd.DataFrame(
        {
            "int": [-5, 7, 0],
            "float": [1.5, np.nan, np.inf],
            "nullable": pd.array([3, None, 4], dtype="Int64"),
            "flag": [True, False, True],
            "text": pd.Series(["x", None, ""], dtype="str"),
        }
    )
    sheet = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert rows == [[-5, 1.5, 3, True, "x"], [7, None, None, False, None], [0, None, 4, True, None]]
    assert sheet["A2"].data_type == "n" and sheet["D2"].data_type == "b"


def test_a_mixed_column_keeps_each_values_kind(tmp_path):
    # The summary sheet: text, counts and seconds in one "value" column.
    values = pd.Series(["apply", 3, 1.25, None, "=x", True], dtype=object)
    sheet = _sheet(write_xlsx({"s": pd.DataFrame({"value": values})}, tmp_path / "r.xlsx"))
    assert _column(sheet) == ["apply", 3, 1.25, None, "=x", True]
    assert [cell.data_type for cell in sheet["A"][1:]] == ["s", "n", "n", "n", "s", "b"]


def test_an_object_column_of_text_is_written_as_text(tmp_path):
    # Report tables hold many such columns (source_file, before, after, ...).
    values = pd.Series(["=1+1", None, "12", np.nan, "x"], dtype=object)
    sheet = _sheet(write_xlsx({"s": pd.DataFrame({"v": values})}, tmp_path / "r.xlsx"))
    assert _column(sheet) == ["=1+1", None, "12", None, "x"]
    assert sheet["A4"].data_type == "s"


def test_dates_stay_dates(tmp_path):
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-03-01 10:30", None, "1999-12-31 00:00"])})
    sheet = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))
    assert _column(sheet) == [dt.datetime(2024, 3, 1, 10, 30), None, dt.datetime(1999, 12, 31)]


def test_characters_xml_forbids_are_dropped_and_the_file_still_opens(tmp_path):
    text = ["bad\x01cell", "=x\x02", "\x0b", "odd\ufffe\uffffend"]
    frame = pd.DataFrame({"value": pd.Series(text, dtype="str")})
    path = write_xlsx({"s": frame}, tmp_path / "r.xlsx")
    assert _column(_sheet(path)) == ["badcell", "=x", None, "oddend"]


def test_overlong_text_is_cut_to_excels_cell_limit(tmp_path):
    frame = pd.DataFrame({"value": pd.Series(["é" * 40_000], dtype="str")})
    value = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))["A2"].value
    assert value == "é" * writers.EXCEL_MAX_CELL_CHARS


def test_header_is_bold_frozen_filtered_and_columns_fit_their_values(tmp_path):
    frame = pd.DataFrame({"a & b": ["x" * 30, "y"], "n": [1, 2], "long": ["z" * 100, None]})
    sheet = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))
    assert [cell.value for cell in sheet[1]] == ["a & b", "n", "long"]
    assert all(cell.font.b for cell in sheet[1]) and not sheet["A2"].font.b
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:C3")
    widths = [sheet.column_dimensions[letter].width for letter in "ABC"]
    assert widths == [32, 8, 60]


def test_rows_built_in_chunks_join_up_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "_CHUNK_ROWS", 3)
    frame = pd.DataFrame({"n": range(10), "t": pd.Series([f"r{i}" for i in range(10)])})
    sheet = _sheet(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [(i, f"r{i}") for i in range(10)]


def test_uncapped_sheets_keep_every_row_and_capped_ones_say_where_they_stop(tmp_path):
    frame = pd.DataFrame({"n": range(10)})
    path = write_xlsx(
        {"summary": frame, "results": frame}, tmp_path / "r.xlsx", max_rows=4, uncapped=["summary"]
    )
    book = openpyxl.load_workbook(path)
    assert _column(book["summary"]) == list(range(10))
    results = list(book["results"].iter_rows(values_only=True))
    assert [row[0] for row in results[1:5]] == [0, 1, 2, 3]
    assert results[-1][0] == "Truncated: the first 4 of 10 rows are shown."
    assert book["results"].auto_filter.ref == "A1:A5"


def test_even_uncapped_sheets_stop_at_excels_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "EXCEL_MAX_ROWS", 5)
    frame = pd.DataFrame({"n": range(8)})
    path = write_xlsx({"snapshot": frame}, tmp_path / "r.xlsx", uncapped=["snapshot"])
    rows = list(_sheet(path, "snapshot").iter_rows(values_only=True))
    assert [row[0] for row in rows[1:6]] == [0, 1, 2, 3, 4]
    assert "first 5 of 8 rows" in rows[-1][0]


def test_snapshot_reader_reads_the_workbook_back_as_text(tmp_path):
    frames = {
        "users": pd.DataFrame({"upn": ["a@x.com", "=b"], "units": [5, None]}),
        "skus": pd.DataFrame({"sku": pd.Series(["E3"], dtype="str")}),
    }
    sheets = read_sheets(write_xlsx(frames, tmp_path / "snap.xlsx"))
    assert [sheet.name for sheet in sheets] == ["users", "skus"]
    users = sheets[0].frame
    assert users["upn"].tolist() == ["a@x.com", "=b"]
    assert users["units"].iloc[0] in ("5", "5.0") and pd.isna(users["units"].iloc[1])


def test_every_part_is_well_formed_and_declared(tmp_path):
    frame = pd.DataFrame({"a": ["x & y"], "b": [1]})
    path = write_xlsx({"one": frame, "it's two": frame}, tmp_path / "r.xlsx", max_rows=1)
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        assert names[0] == "[Content_Types].xml"
        declared = ET.fromstring(book.read("[Content_Types].xml"))
        for part in names:
            ET.fromstring(book.read(part))  # raises when not well-formed
        overrides = {o.get("PartName").lstrip("/") for o in declared if o.get("PartName")}
    assert overrides == {n for n in names if not n.endswith(".rels") and n.startswith("xl/")}
    assert openpyxl.load_workbook(path).sheetnames == ["one", "it's two"]


@pytest.mark.parametrize("name", ["a/b", "x" * 32, "", "[x]"])
def test_a_sheet_name_excel_refuses_is_refused_before_writing(tmp_path, name):
    with pytest.raises(ValueError, match="sheet name"):
        write_xlsx({name: pd.DataFrame({"a": [1]})}, tmp_path / "r.xlsx")
    assert not (tmp_path / "r.xlsx").exists()
