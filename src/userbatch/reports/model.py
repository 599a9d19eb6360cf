"""What a run hands to the reports: the RunReport (SPEC §7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from userbatch.problems import Problems, empty_problems

# changes.csv, one row per change, derived ones included (SPEC §7).
CREDENTIAL_COLUMNS = ("user_principal_name", "password")
# Issue "Scale": report.xlsx keeps the first rows of a sheet; the CSVs keep them all.
DEFAULT_XLSX_MAX_ROWS = 100_000
# Issue "Scale": report.html lists the first rows of each table; the CSVs hold them all.
DEFAULT_HTML_MAX_ROWS = 2_000


@dataclass
class RunReport:
    """Everything one command run reports.

    ``frames`` are the kind frames (docs/ARCHITECTURE.md) with ``source_file,
    source_sheet, source_row, key, outcome`` and the canonical input columns;
    ``columns`` names, per kind, the input columns present (the errors files' columns).
    ``failing``, per kind, holds its failing rows with every input column when its frame
    keeps only the row columns (a plan's frames: ``Plan.failing``); errors/<kind>.csv is
    written from it.
    ``problems`` may be a ``Problems`` table or its frame. ``credentials`` is given on
    apply only (R1); no other table may hold a password.

    For report.html only: ``seats`` lists {"sku", "used", "total"} (the planned state's
    seats per SKU, see ``reports.html.seat_usage``) and ``environments`` lists
    {"environment", "enabled", "disabled", "stub", "non_interactive", "application"}
    (see ``reports.html.environment_counts``); both may stay empty.
    """

    command: str
    exit_code: int
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    failing: dict[str, pd.DataFrame] = field(default_factory=dict)
    # fill_after(rows, start): ``changes`` rows from ``start`` with the ``after`` texts the
    # plan left to be made as written (Plan.lazy); None: ``changes`` is whole.
    fill_after: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None
    problems: pd.DataFrame = field(default_factory=empty_problems)
    inputs: list[dict] = field(default_factory=list)
    changes: pd.DataFrame | None = None
    # changes.csv as written during the apply (reports.changes_csv), moved in place
    # instead of written again; None: written from ``changes``.
    changes_file: Path | None = None
    invitations: pd.DataFrame | None = None
    credentials: pd.DataFrame | None = None
    store_fingerprint_before: str | None = None
    store_fingerprint_after: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    xlsx_max_rows: int | None = DEFAULT_XLSX_MAX_ROWS
    html_max_rows: int | None = DEFAULT_HTML_MAX_ROWS
    seats: list[dict] = field(default_factory=list)
    environments: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.problems, Problems):
            self.problems = self.problems.frame()
