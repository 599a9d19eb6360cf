"""changes.csv written while an apply runs, for ``write_reports`` to move in place.

The run's history renders the change log's ``after`` texts a part at a time, on a thread
of its own, while the store is written (``state.history.RunBlobs``). Written from those
parts, changes.csv needs no second rendering (1M users: 4M rows, ~2 s of it), and Arrow
formats it beside the write instead of after it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from userbatch.io.writers import CsvParts, csv_file
from userbatch.reports.tables import change_rows

PARTIAL_NAME = ".changes.csv.partial"


class ChangesCsv:
    """The change log's parts, in order, written as changes.csv to a partial file in the
    report folder: ``write`` each part (its ``after`` made), ``close`` when all are in;
    ``file`` is then the finished file, for ``RunReport.changes_file``.

    ``discard`` (the apply failed or stopped) removes the file and the folders made for it;
    the history's thread may still be in ``write`` then, and writes nothing after it."""

    def __init__(self, report_dir: str | Path) -> None:
        self.path = Path(report_dir) / PARTIAL_NAME
        self._handle = self._csv = None
        self._finished = self._discarded = False
        self._made: list[Path] = []  # folders made for the file, deepest first
        self._lock = threading.Lock()

    def write(self, part: pd.DataFrame) -> None:
        with self._lock:
            if self._discarded:
                return
            if self._csv is None:
                self._made = [p for p in self.path.parents if not p.exists()]
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = csv_file(self.path)
                self._csv = CsvParts(self._handle)
            self._csv.write(change_rows(part))

    def close(self) -> None:
        with self._lock:
            if self._csv is None or self._discarded:
                return  # no part came: write_reports writes changes.csv itself
            self._csv.close()
            self._handle.close()
            self._finished = True

    @property
    def file(self) -> Path | None:
        return self.path if self._finished else None

    def discard(self) -> None:
        with self._lock:
            self._discarded, self._finished = True, False
            if self._handle is not None:
                self._handle.close()
            self.path.unlink(missing_ok=True)
            for folder in self._made:  # no folder is left behind by a failed apply
                try:
                    folder.rmdir()
                except OSError:
                    break  # something else was put there meanwhile: it stays
