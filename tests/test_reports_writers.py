"""io.writers: no value ever becomes a formula; credentials are private from creation."""

import csv
import os
import stat
import sys

import openpyxl
import pandas as pd
import pytest

from userbatch.io import writers
from userbatch.io.writers import neutralize, write_csv, write_xlsx


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_formula_like_text_gets_a_leading_quote_in_csv(tmp_path):
    frame = pd.DataFrame({"value": ["=SUM(A1)", "-5", "+44 20", "@cmd", "\tx", "plain"]})
    path = write_csv(frame, tmp_path / "out.csv")
    cells = [row[0] for row in _csv_rows(path)[1:]]
    assert cells == ["'=SUM(A1)", "'-5", "'+44 20", "'@cmd", "'\tx", "plain"]


def test_numbers_and_missing_cells_are_not_neutralized(tmp_path):
    frame = pd.DataFrame({"n": [-5, 3], "text": pd.Series([None, "-1"], dtype="str")})
    path = write_csv(frame, tmp_path / "out.csv")
    assert _csv_rows(path) == [["n", "text"], ["-5", ""], ["3", "'-1"]]


def test_neutralize_leaves_mixed_object_numbers_alone():
    series = pd.Series(["=a", -5, None, "b"], dtype=object)
    assert neutralize(series).tolist() == ["'=a", -5, None, "b"]


def test_unaltered_csv_keeps_leading_characters(tmp_path):
    frame = pd.DataFrame({"user_principal_name": ["a@x.com"], "password": ["-Secret1!"]})
    path = write_csv(frame, tmp_path / "credentials.csv", neutralize_cells=False)
    assert _csv_rows(path)[1] == ["a@x.com", "-Secret1!"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_credentials_file_is_private_even_when_it_existed(tmp_path):
    path = tmp_path / "credentials.csv"
    path.write_text("old\n")
    path.chmod(0o644)
    write_csv(pd.DataFrame({"password": ["x"]}), path, neutralize_cells=False, mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_xlsx_text_that_looks_like_a_formula_stays_text(tmp_path):
    frame = pd.DataFrame({"value": ["=SUM(A1)", "-5", "#N/A", "ok"], "n": [-5, 1, 2, 3]})
    path = write_xlsx({"results": frame}, tmp_path / "report.xlsx")
    sheet = openpyxl.load_workbook(path)["results"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in cells] == ["=SUM(A1)", "-5", "#N/A", "ok"]
    assert {c.data_type for c in cells} == {"s"}
    assert sheet.cell(row=2, column=2).value == -5
    assert sheet.cell(row=2, column=2).data_type == "n"


def test_xlsx_header_is_frozen_and_filtered(tmp_path):
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1, 2], "c": ["p", "q"]})
    sheet = openpyxl.load_workbook(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))["s"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert [c.value for c in sheet[1]] == ["a", "b", "c"]


def test_xlsx_sheet_over_the_cap_says_so(tmp_path):
    frame = pd.DataFrame({"n": range(10)})
    path = write_xlsx({"results": frame}, tmp_path / "r.xlsx", max_rows=4)
    rows = list(openpyxl.load_workbook(path)["results"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:5]] == [0, 1, 2, 3]
    assert "first 4 of 10 rows" in rows[-1][0]


def test_xlsx_drops_control_characters_openpyxl_refuses(tmp_path):
    frame = pd.DataFrame({"value": ["bad\x01cell", "=x\x02"]})
    sheet = openpyxl.load_workbook(write_xlsx({"s": frame}, tmp_path / "r.xlsx"))["s"]
    assert [sheet["A2"].value, sheet["A3"].value] == ["badcell", "=x"]


def test_csv_written_chunk_by_chunk_is_the_same_file(tmp_path, monkeypatch):
    frame = pd.DataFrame(
        {
            "text": pd.Series(["a", "=b", None, "-c", "", "@d", "e"], dtype="str"),
            "mixed": pd.Series(["x", 1, None, "+y", 2.5, True, "z"], dtype=object),
            "n": pd.array([1, None, 3, -4, 5, 6, 7], dtype="Int64"),
        }
    )
    whole = write_csv(frame, tmp_path / "whole.csv").read_bytes()
    monkeypatch.setattr(writers, "CSV_CHUNK_ROWS", 2)
    assert write_csv(frame, tmp_path / "chunks.csv").read_bytes() == whole
    parts = [frame.iloc[:3], frame.iloc[3:3], frame.iloc[3:]]
    assert write_csv(parts, tmp_path / "parts.csv").read_bytes() == whole


def test_csv_of_no_rows_is_the_header_alone(tmp_path):
    frame = pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="Int64")})
    assert write_csv(frame, tmp_path / "empty.csv").read_text() == '"a","b"\n'


def test_categorical_text_is_neutralized_and_written_like_text(tmp_path):
    values = ["=SUM(A1)", None, "plain", "=SUM(A1)"]
    text = write_csv(pd.DataFrame({"v": pd.Series(values, dtype="str")}), tmp_path / "s.csv")
    categories = pd.DataFrame({"v": pd.Series(values, dtype="category")})
    assert write_csv(categories, tmp_path / "c.csv").read_bytes() == text.read_bytes()
    assert text.read_text() == '"v"\n"\'=SUM(A1)"\n\n"plain"\n"\'=SUM(A1)"\n'


def test_formula_check_reads_only_the_first_character(tmp_path):
    frame = pd.DataFrame({"v": ["a=b", "é=", "=é", " =x", "\r\n", "–dash"]})
    cells = [row[0] for row in _csv_rows(write_csv(frame, tmp_path / "f.csv"))[1:]]
    assert cells == ["a=b", "é=", "'=é", " =x", "'\r\n", "–dash"]
