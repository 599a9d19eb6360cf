"""The plan table: one row per change, in SPEC §7 vocabulary, derived changes included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from userbatch.frames import as_series, text_array
from userbatch.plan.jsoncol import LazyJson
from userbatch.vocabulary import CHANGE_COLUMNS

# Internal: which input row caused a change (kind, frame index); dropped from reports.
ORIGIN_COLUMNS = ("_kind", "_row")
# Columns with a handful of values over millions of changes: kept as categoricals (one
# byte a row instead of a string each; ~45% of the log's memory at 300k users).
CATEGORICAL_COLUMNS = ("environment", "entity", "change", "rule", "source_file", "_kind")


class ChangeLog:
    """Collects change frames; ``frame()`` concatenates them once."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._frozen: pd.DataFrame | None = None
        self._rows = 0
        self._lazy: list[tuple[int, LazyJson]] = []  # (first row in the log, its JSON)

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
        """Append changes, one per element of ``key`` (a Series); ``rows`` are their input rows.
        An ``after`` given as LazyJson stays missing in the frame until ``LazyAfter.fill``."""
        if len(key) == 0:
            return
        index = key.index
        if isinstance(after, LazyJson):
            self._lazy.append((self._rows, after))
            after = None
        self._rows += len(key)
        part = pd.DataFrame(
            {
                "environment": _category(environment, index),
                "entity": _category(entity, index),
                "key": key,
                "change": _category(change, index),
                "before": _text(before, index),
                "after": _text(after, index),
                "rule": _category(rule, index),
                "source_file": _category(None if rows is None else rows["source_file"], index),
                "source_row": _numbers(None if rows is None else rows["source_row"], index),
                "_kind": _category(kind if rows is not None else None, index),
                "_row": _numbers(None if rows is None else rows["_row"], index),
            },
            index=index,
        )
        self._parts.append(part.reset_index(drop=True))

    def extend(self, other: ChangeLog) -> None:
        """``other``'s changes after these, as if they had been added here."""
        self._lazy += [(self._rows + first, lazy) for first, lazy in other._lazy]
        self._rows += other._rows
        self._parts += other._parts
        self._frozen = None

    def frame(self) -> pd.DataFrame:
        """All changes so far, concatenated once (kept as the single part until the next add)."""
        if not self._parts:
            return empty_changes()
        if len(self._parts) == 1 and self._frozen is not None:
            return self._frozen
        frame = _concat(self._parts)
        self._parts, self._frozen = [frame], frame
        return frame

    def lazy_after(self) -> LazyAfter:
        """The ``after`` texts ``frame()`` leaves missing, to fill in as it is written."""
        return LazyAfter(list(self._lazy))


class LazyAfter:
    """The deferred ``after`` texts of a change log (``ChangeLog.add`` with a LazyJson):
    whoever writes the log out (changes.csv, history, a saved plan) fills them in, a
    chunk at a time."""

    def __init__(self, segments: list[tuple[int, LazyJson]] | None = None) -> None:
        self.segments = segments or []

    def fill(self, changes: pd.DataFrame, start: int = 0) -> pd.DataFrame:
        """``changes``, rows ``start``… of the log in order, with their ``after`` made.

        The texts go by position: ``changes`` must be a slice of the log as made (its
        index says so), never a filtered or reordered one."""
        if not self.segments:
            return changes
        stop = start + len(changes)
        index = changes.index
        if len(index) and (index[0] != start or index[-1] != stop - 1):
            raise ValueError("LazyAfter.fill needs a slice of the change log as made")
        made = []
        for first, lazy in self.segments:
            lo, hi = max(first, start), min(first + len(lazy), stop)
            if lo < hi:
                made.append((lo - start, lazy.render(lo - first, hi - first)))
        if not made:
            return changes
        after, pieces, at = text_array(changes["after"]), [], 0
        for offset, texts in made:
            pieces += [after.slice(at, offset - at), texts]
            at = offset + len(texts)
        pieces.append(after.slice(at))
        return changes.assign(after=as_series(pa.concat_arrays(pieces), changes.index))


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Parts stacked column by column; categoricals stay categoricals (pd.concat would
    turn categoricals with different categories into object columns)."""
    columns = {}
    for column in parts[0].columns:
        pieces = [part[column] for part in parts]
        if column in CATEGORICAL_COLUMNS:
            columns[column] = pd.Series(
                union_categoricals([p.array for p in pieces], sort_categories=True)
            )
        else:
            columns[column] = pd.concat(pieces, ignore_index=True)
    frame = pd.DataFrame(columns)
    for column in ("source_row", "_row"):  # Int64 already when every part was
        if frame[column].dtype != "Int64":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def _category(value, index) -> pd.Categorical:
    """``value`` (a scalar, None or a Series laid on ``index`` by position) as a categorical
    with text categories."""
    if isinstance(value, pd.Series):
        value = _aligned(value, index)
        if not value.index.equals(index):  # laid on by label, as the frame would
            value = value.reindex(index)
        if isinstance(value.dtype, pd.CategoricalDtype):
            codes, categories = value.cat.codes.to_numpy(), value.cat.categories.astype("str")
            return pd.Categorical.from_codes(codes, categories=categories)
        codes, uniques = pd.factorize(value.astype("str"))
        return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="str"))
    if value is None or value is pd.NA:
        return pd.Categorical.from_codes(
            np.full(len(index), -1, dtype=np.int8), categories=pd.Index([], dtype="str")
        )
    return pd.Categorical.from_codes(
        np.zeros(len(index), dtype=np.int8), categories=pd.Index([value], dtype="str")
    )


def _aligned(value, index):
    """A Series laid on ``index`` by position; a scalar stays a scalar (the frame
    broadcasts it, far cheaper than a Series of copies)."""
    if isinstance(value, pd.Series):
        return pd.Series(value.array, index=index) if len(value) == len(index) else value
    return value


def _text(value, index):
    """JSON text laid on ``index``; Python-object columns become ``str`` (Arrow) here, once."""
    if value is None:
        return pd.Series(None, index=index, dtype="str")
    value = _aligned(value, index)
    if isinstance(value, pd.Series) and value.dtype != "str":
        return value.astype("str")
    return value


def _numbers(value, index) -> pd.Series:
    """Row numbers as Int64 per part, so the concatenated log needs no object pass."""
    if value is None:  # all missing, built without a Python object per row
        n = len(index)
        return pd.Series(
            pd.arrays.IntegerArray(np.zeros(n, "int64"), np.ones(n, bool)), index=index
        )
    value = _aligned(value, index)
    if isinstance(value, pd.Series):
        return pd.to_numeric(value, errors="coerce").astype("Int64")
    return value


def as_text(changes: pd.DataFrame) -> pd.DataFrame:
    """``changes`` with its categorical columns as text, for code that concatenates them
    (filter first: this copies those columns)."""
    text = {c: changes[c].astype("str") for c in CATEGORICAL_COLUMNS if c in changes}
    return changes.assign(**text)


def empty_changes() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS + ORIGIN_COLUMNS})
    for column in CATEGORICAL_COLUMNS:
        frame[column] = pd.Categorical([], categories=pd.Index([], dtype="str"))
    frame["source_row"] = frame["source_row"].astype("Int64")
    frame["_row"] = frame["_row"].astype("Int64")
    return frame
