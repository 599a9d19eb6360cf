"""report.xlsx: the report tables as sheets, header frozen, autofilter, capped (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from userbatch.io.writers import write_xlsx
from userbatch.reports.summary import summary_sheet
from userbatch.reports.tables import ChunkedTable

CAP_NOTE = "Truncated: the first {shown:,} of {total:,} rows are shown; {sheet}.csv holds them all."


def write_report_xlsx(
    path: Path,
    summary: dict,
    tables: dict[str, pd.DataFrame | ChunkedTable | None],
    max_rows: int | None,
) -> Path:
    """Sheets summary, then each table given (None: no sheet), each capped at ``max_rows``.

    Only the rows a sheet shows are built: a ChunkedTable gives its first rows."""
    tables = {name: table for name, table in tables.items() if table is not None}
    notes = [
        CAP_NOTE.format(shown=max_rows, total=len(table), sheet=name)
        for name, table in tables.items()
        if max_rows is not None and len(table) > max_rows
    ]
    sheets = {"summary": summary_sheet(summary, notes), **tables}
    return write_xlsx(sheets, path, max_rows=max_rows, cap_note=CAP_NOTE, uncapped=["summary"])
