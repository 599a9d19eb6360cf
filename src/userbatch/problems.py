"""The one problems table that reading, validation, planning and apply append to (SPEC §7).

Every report is rendered from it. Problems are kept as DataFrames, not dicts, so a
million-row input with a problem per row stays cheap.
"""

from __future__ import annotations

import pandas as pd

PROBLEM_COLUMNS = (
    "source_file", "source_sheet", "source_row", "column", "value",
    "entity", "key", "rule", "level", "message",
)  # fmt: skip


def _as_series(value, index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.reindex(index)
    return pd.Series(value, index=index, dtype="object" if value is None else None)


class Problems:
    """An append-only table of problems; ``frame()`` concatenates once."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        """Append problems given as a frame holding any subset of PROBLEM_COLUMNS."""
        if len(frame):
            self._parts.append(frame.reindex(columns=PROBLEM_COLUMNS))

    def add_one(self, *, level: str, rule: str, message: str, **where) -> None:
        """Append one problem; ``where`` may name source_file, source_row, column, value, …"""
        self.add(pd.DataFrame([{"level": level, "rule": rule, "message": message, **where}]))

    def add_rows(
        self,
        rows: pd.DataFrame,
        *,
        entity: str,
        rule: str,
        level: str,
        message,
        key=None,
        column: str | None = None,
        value=None,
    ) -> None:
        """Append one problem per row of ``rows`` (a slice of a kind frame), vectorized.

        ``message``, ``key`` and ``value`` may be scalars or Series aligned on ``rows``;
        ``value`` defaults to the cell of ``column``.
        """
        if not len(rows):
            return
        index = rows.index
        if value is None and column is not None and column in rows:
            value = rows[column]
        if key is None and "key" in rows:
            key = rows["key"]
        part = pd.DataFrame(
            {
                "source_file": rows.get("source_file"),
                "source_sheet": rows.get("source_sheet"),
                "source_row": rows.get("source_row"),
                "column": column,
                "value": _as_series(value, index),
                "entity": entity,
                "key": _as_series(key, index),
                "rule": rule,
                "level": level,
                "message": _as_series(message, index),
            },
            index=index,
        )
        self._parts.append(part.reset_index(drop=True))

    def extend(self, other: Problems) -> None:
        self._parts.extend(other._parts)

    def frame(self) -> pd.DataFrame:
        """All problems, in the order they were added, with PROBLEM_COLUMNS."""
        if not self._parts:
            return empty_problems()
        frame = pd.concat(self._parts, ignore_index=True)
        frame["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce").astype("Int64")
        for column in PROBLEM_COLUMNS:  # parts mixing text, categories and None give objects
            if column != "source_row" and frame[column].dtype != "str":
                frame[column] = frame[column].astype("str")
        self._parts = [frame]
        return frame

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)


def empty_problems() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in PROBLEM_COLUMNS})
    frame["source_row"] = frame["source_row"].astype("Int64")
    return frame
