"""The reports of SPEC §7, rendered from a RunReport.

``write_reports`` writes summary.json, results.csv, problems.csv, changes.csv,
errors/<kind>.csv, invitations.csv, report.xlsx, report.html and, on apply,
credentials.csv (R1).
Column names and vocabulary are a public interface: scripts read these files.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from userbatch.io.writers import write_csv
from userbatch.reports.changes_csv import PARTIAL_NAME
from userbatch.reports.html import write_report_html
from userbatch.reports.model import CREDENTIAL_COLUMNS, RunReport
from userbatch.reports.summary import summary
from userbatch.reports.tables import (
    RESULT_COLUMNS,
    ChunkedTable,
    changes_chunks,
    counts,
    errors_tables,
    invitations_table,
    problems_table,
    results_chunks,
    row_problems,
)
from userbatch.reports.xlsx import write_report_xlsx
from userbatch.vocabulary import CHANGE_COLUMNS, KINDS

__all__ = [
    "CHANGE_COLUMNS",
    "RESULT_COLUMNS",
    "RunReport",
    "default_report_dir",
    "write_reports",
]

# R1: readable by its owner only, from the moment it exists.
CREDENTIALS_MODE = 0o600


def write_reports(report: RunReport, report_dir: str | Path) -> Path:
    """Write every report of ``report`` into ``report_dir`` (created) and return it."""
    started = time.perf_counter()
    report_dir = Path(report_dir)
    (report_dir / "errors").mkdir(parents=True, exist_ok=True)
    per_row = row_problems(report.problems)
    # results and changes are built chunk by chunk as they are written (issue "Scale").
    tables = {
        "results": results_chunks(report, per_row),
        "problems": problems_table(report),
        "changes": changes_chunks(report),
        "invitations": invitations_table(report),
    }
    # The longest CSV is written on a thread from the start, and everything else here
    # meanwhile: Arrow formats and writes the CSVs outside the GIL. It is changes.csv (1M
    # users: 4M rows, their JSON made as written) unless the apply wrote that already.
    longest, rest = "changes", ["results", "problems", "invitations"]
    if report.changes_file is not None:
        shutil.move(report.changes_file, report_dir / "changes.csv")
        longest = rest.pop(0)
    else:  # one a killed apply left in this folder
        (report_dir / PARTIAL_NAME).unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as pool:
        first = pool.submit(_write_or_remove, tables[longest], report_dir / f"{longest}.csv")
        for name in rest:
            _write_or_remove(tables[name], report_dir / f"{name}.csv")
        errors = errors_tables(report, per_row)
        for kind in {*KINDS, *errors}:
            _write_or_remove(errors.get(kind), report_dir / "errors" / f"{kind}.csv")
        if report.credentials is not None:
            credentials = report.credentials.reindex(columns=CREDENTIAL_COLUMNS)
            # Meant for Microsoft's tools: written unaltered (SPEC §7).
            write_csv(
                credentials,
                report_dir / "credentials.csv",
                neutralize_cells=False,
                mode=CREDENTIALS_MODE,
            )
        data = summary(report, counts(report))
        write_report_xlsx(report_dir / "report.xlsx", data, tables, report.xlsx_max_rows)
        # Credentials are not among ``tables``: the page never sees a password (R1).
        write_report_html(report_dir / "report.html", report, data, tables, report.html_max_rows)
        first.result()
    data["timings_s"]["report"] = round(time.perf_counter() - started, 3)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    (report_dir / "summary.json").write_text(text + "\n", encoding="utf-8")
    return report_dir


def _write_or_remove(table: pd.DataFrame | ChunkedTable | None, path: Path) -> None:
    """Write ``table``; when there is none, remove a stale file of an earlier run."""
    if isinstance(table, ChunkedTable):
        write_csv(table.chunks(), path)
    elif table is not None:
        write_csv(table, path)
    else:
        path.unlink(missing_ok=True)


def default_report_dir(command: str, *, now: datetime | None = None, root="reports") -> Path:
    """``reports/<UTC timestamp YYYYmmddTHHMMSSZ>-<command>/``; a suffix when it exists."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(root) / f"{stamp}-{command}"
    suffix = 2
    while path.exists():
        path = Path(root) / f"{stamp}-{command}-{suffix}"
        suffix += 1
    return path
