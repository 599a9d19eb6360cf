"""The plan table: one row per change, in SPEC §7 vocabulary, derived changes included."""

from __future__ import annotations

import pandas as pd

from userbatch.vocabulary import CHANGE_COLUMNS

# Internal: which input row caused a change (kind, frame index); dropped from reports.
ORIGIN_COLUMNS = ("_kind", "_row")


class ChangeLog:
    """Collects change frames; ``frame()`` concatenates them once."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._frozen: pd.DataFrame | None = None

    def add(
        self,
        *,
        change: str,
        entity: str,
        key,
        environment=None,
        before=None,
        after=None,
        rule=None,
        rows: pd.DataFrame | None = None,
        kind: str | pd.Series | None = None,
    ) -> None:
        """Append changes, one per element of ``key`` (a Series); ``rows`` are their input rows."""
        if len(key) == 0:
            return
        index = key.index
        part = pd.DataFrame(
            {
                "environment": _aligned(environment, index),
                "entity": entity,
                "key": key,
                "change": change,
                "before": _aligned(before, index),
                "after": _aligned(after, index),
                "rule": rule,
                "source_file": _aligned(None if rows is None else rows["source_file"], index),
                "source_row": _numbers(None if rows is None else rows["source_row"], index),
                "_kind": _aligned(kind if rows is not None else None, index),
                "_row": _numbers(None if rows is None else rows["_row"], index),
            },
            index=index,
        )
        self._parts.append(part.reset_index(drop=True))

    def frame(self) -> pd.DataFrame:
        """All changes so far, concatenated once (kept as the single part until the next add)."""
        if not self._parts:
            return empty_changes()
        if len(self._parts) == 1 and self._frozen is not None:
            return self._frozen
        frame = pd.concat(self._parts, ignore_index=True)
        for column in ("source_row", "_row"):  # Int64 already when every part was
            if frame[column].dtype != "Int64":
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        self._parts, self._frozen = [frame], frame
        return frame


def _aligned(value, index):
    """A Series laid on ``index`` by position; a scalar stays a scalar (the frame
    broadcasts it, far cheaper than a Series of copies)."""
    if isinstance(value, pd.Series):
        return pd.Series(value.array, index=index) if len(value) == len(index) else value
    return value


def _numbers(value, index) -> pd.Series:
    """Row numbers as Int64 per part, so the concatenated log needs no object pass."""
    if value is None:
        return pd.Series(pd.array([pd.NA] * len(index), dtype="Int64"), index=index)
    value = _aligned(value, index)
    if isinstance(value, pd.Series):
        return pd.to_numeric(value, errors="coerce").astype("Int64")
    return value


def empty_changes() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS + ORIGIN_COLUMNS})
    frame["source_row"] = frame["source_row"].astype("Int64")
    frame["_row"] = frame["_row"].astype("Int64")
    return frame
