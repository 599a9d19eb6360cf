"""reports.write_reports: the files of SPEC §7, their columns, and where a password may be."""

import csv
import json
import os
import stat
import sys
from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest

from userbatch.problems import Problems
from userbatch.reports import RunReport, default_report_dir, write_reports

PASSWORD = "Xy7!secret-Pw"


def _report(**overrides):
    users = pd.DataFrame(
        {
            "source_file": ["users.csv"] * 3,
            "source_sheet": pd.Series([None] * 3, dtype="str"),
            "source_row": pd.array([2, 3, 4], dtype="Int64"),
            "user_principal_name": ["a@x.com", "=cmd@x.com", "c@x.com"],
            "first_name": ["Ann", "-Bo", "Cy"],
            "password": [PASSWORD, PASSWORD, PASSWORD],
            "key": ["a@x.com", "=cmd@x.com", "c@x.com"],
            "outcome": ["changed", "invalid", "changed"],
        }
    )
    problems = Problems()
    problems.add_rows(users.iloc[[1]], entity="user", rule="email_syntax", level="error",
                      message="not an address", column="user_principal_name")  # fmt: skip
    problems.add_rows(users.iloc[[2]], entity="user", rule="weak_password", level="warning",
                      message="password is weak", column="password")  # fmt: skip
    changes = pd.DataFrame(
        {
            "environment": [None], "entity": ["user"], "key": ["a@x.com"],
            "change": ["create_user"], "before": [None],
            "after": [json.dumps({"first_name": "Ann", "password": PASSWORD})],
            "rule": [None], "source_file": ["users.csv"], "source_row": [2],
        }
    )  # fmt: skip
    fields = dict(
        command="apply",
        exit_code=4,
        frames={"users": users},
        columns={"users": ["user_principal_name", "first_name", "password"]},
        problems=problems,
        inputs=[{"path": "users.csv", "sha256": "0" * 64}],
        changes=changes,
        invitations=pd.DataFrame({"environment": ["Sales"], "user_principal_name": ["a@x.com"]}),
        credentials=pd.DataFrame({"user_principal_name": ["a@x.com"], "password": [PASSWORD]}),
        store_fingerprint_before="before",
        store_fingerprint_after="after",
        timings_s={"read": 0.5},
    )
    return RunReport(**{**fields, **overrides})


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_report_file_is_written(tmp_path):
    out = write_reports(_report(), tmp_path / "run")
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "summary.json", "results.csv", "problems.csv", "changes.csv", "invitations.csv",
        "errors/users.csv", "report.xlsx", "report.html", "credentials.csv",
    }  # fmt: skip


def test_summary_json_has_the_documented_keys(tmp_path):
    summary = json.loads((write_reports(_report(), tmp_path) / "summary.json").read_text())
    assert set(summary) >= {
        "exit_code", "counts", "inputs", "store_fingerprint_before",
        "store_fingerprint_after", "timings_s",
    }  # fmt: skip
    assert summary["exit_code"] == 4
    assert summary["command"] == "apply"
    assert summary["inputs"] == [{"path": "users.csv", "sha256": "0" * 64}]
    assert {"entity": "user", "change": "create_user", "count": 1} in summary["counts"]
    assert {"entity": "user", "outcome": "invalid", "count": 1} in summary["counts"]
    assert summary["timings_s"]["read"] == 0.5


def test_password_appears_only_in_credentials(tmp_path):
    out = write_reports(_report(), tmp_path)
    holding = set()
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".xlsx" and PASSWORD in path.read_text():
            holding.add(path.name)
    book = openpyxl.load_workbook(out / "report.xlsx")
    for sheet in book:
        for row in sheet.iter_rows(values_only=True):
            assert PASSWORD not in " ".join(str(v) for v in row)
    assert holding == {"credentials.csv"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_credentials_are_private_and_unaltered(tmp_path):
    credentials = pd.DataFrame({"user_principal_name": ["a@x.com"], "password": ["-Pw1!x"]})
    out = write_reports(_report(credentials=credentials), tmp_path)
    assert stat.S_IMODE(os.stat(out / "credentials.csv").st_mode) == 0o600
    assert _rows(out / "credentials.csv") == [
        {"user_principal_name": "a@x.com", "password": "-Pw1!x"}
    ]


def test_no_credentials_file_without_credentials(tmp_path):
    out = write_reports(_report(credentials=None), tmp_path)
    assert not (out / "credentials.csv").exists()


def test_report_csv_cells_are_neutralized(tmp_path):
    out = write_reports(_report(), tmp_path)
    assert _rows(out / "results.csv")[1]["key"] == "'=cmd@x.com"
    errors = _rows(out / "errors" / "users.csv")
    assert errors == [
        {"source_file": "users.csv", "source_row": "3", "user_principal_name": "'=cmd@x.com",
         "first_name": "'-Bo", "password": "", "error": "not an address"},
    ]  # fmt: skip


def test_xlsx_has_the_report_sheets_with_text_as_text(tmp_path):
    book = openpyxl.load_workbook(write_reports(_report(), tmp_path) / "report.xlsx")
    assert book.sheetnames == ["summary", "results", "problems", "changes", "invitations"]
    results = book["results"]
    assert results.freeze_panes == "A2" and results.auto_filter.ref == "A1:I4"
    assert results["E3"].value == "=cmd@x.com" and results["E3"].data_type == "s"


def test_xlsx_sheets_are_capped_and_the_summary_says_so(tmp_path):
    out = write_reports(_report(xlsx_max_rows=2), tmp_path)
    book = openpyxl.load_workbook(out / "report.xlsx")
    notes = [r[2] for r in book["summary"].iter_rows(values_only=True) if r[0] == "note"]
    assert notes == ["Truncated: the first 2 of 3 rows are shown; results.csv holds them all."]
    assert len(_rows(out / "results.csv")) == 3


def test_empty_changes_give_a_header_only_file_and_none_gives_no_file(tmp_path):
    empty = pd.DataFrame(columns=["entity", "change"])
    out = write_reports(_report(changes=empty), tmp_path / "a")
    assert (out / "changes.csv").read_text().startswith('"environment","entity","key"')
    assert len((out / "changes.csv").read_text().splitlines()) == 1
    out = write_reports(_report(changes=None, invitations=None), tmp_path / "b")
    assert not (out / "changes.csv").exists() and not (out / "invitations.csv").exists()


def test_a_rerun_into_the_same_folder_drops_stale_errors_files(tmp_path):
    write_reports(_report(), tmp_path)
    users = _report().frames["users"].assign(outcome="changed")
    write_reports(_report(frames={"users": users}), tmp_path)
    assert not (tmp_path / "errors" / "users.csv").exists()


def test_a_run_with_nothing_read_still_reports(tmp_path):
    report = RunReport(command="validate", exit_code=3)
    out = write_reports(report, tmp_path)
    assert _rows(out / "results.csv") == []
    assert json.loads((out / "summary.json").read_text())["counts"] == []


def test_default_report_dir_is_a_utc_timestamp_and_the_command(tmp_path):
    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    path = default_report_dir("plan", now=now, root=tmp_path)
    assert path == tmp_path / "20250304T050607Z-plan"
    path.mkdir()
    assert default_report_dir("plan", now=now, root=tmp_path).name == "20250304T050607Z-plan-2"


def test_a_capped_results_sheet_counts_every_row_below_the_table(tmp_path):
    out = write_reports(_report(xlsx_max_rows=2), tmp_path)
    rows = list(openpyxl.load_workbook(out / "report.xlsx")["results"].iter_rows(values_only=True))
    assert [r[2] for r in rows[1:3]] == [2, 3]
    assert "first 2 of 3 rows" in rows[-1][0]


def test_categorical_change_log_gives_the_same_reports(tmp_path):
    report = _report()
    plain = write_reports(report, tmp_path / "str")
    categorical = report.changes.astype(
        {c: "category" for c in ("environment", "entity", "change", "rule", "source_file")}
    )
    coded = write_reports(_report(changes=categorical), tmp_path / "category")
    assert (coded / "changes.csv").read_bytes() == (plain / "changes.csv").read_bytes()
    counts = [json.loads((d / "summary.json").read_text())["counts"] for d in (plain, coded)]
    assert counts[0] == counts[1]


def test_long_tables_written_in_chunks_give_the_same_files(tmp_path, monkeypatch):
    from userbatch.io import writers
    from userbatch.reports import tables

    whole = write_reports(_report(), tmp_path / "whole")
    monkeypatch.setattr(tables, "CHUNK_ROWS", 1)
    monkeypatch.setattr(writers, "CSV_CHUNK_ROWS", 1)
    chunked = write_reports(_report(), tmp_path / "chunked")
    for name in ("results.csv", "changes.csv", "problems.csv", "errors/users.csv"):
        assert (chunked / name).read_bytes() == (whole / name).read_bytes(), name
