"""The report tables of SPEC §7, built from a RunReport by pure functions.

Reports render tables and know no rule. Joining problems onto input rows is vectorized
(sorted groups as pyarrow list offsets): a million rows with a problem each take about a second.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.problems import PROBLEM_COLUMNS
from userbatch.reports.model import RunReport
from userbatch.vocabulary import (
    CHANGE_COLUMNS,
    COLUMNS,
    ENTITY_OF_KIND,
    KINDS,
    LEVEL_RANK,
    SOURCE_COLUMNS,
)

RESULT_COLUMNS = (
    "source_file", "source_sheet", "source_row", "entity", "key", "outcome",
    "level", "rule", "message",
)  # fmt: skip
# Rows that did not pass and go to errors/<kind>.csv, to fix and re-import.
FAILING_OUTCOMES = ("invalid", "failed", "skipped")
ERROR_COLUMN = "error"
# A problem belongs to an input row through these (results.csv joins on them).
ROW_KEYS = ["entity", "source_file", "source_sheet", "source_row"]
SEPARATOR = "; "
# R1: a password may stand in credentials.csv only.
PASSWORD = "password"
_LEVELS = sorted(LEVEL_RANK, key=LEVEL_RANK.get)  # by rank: info, warning, error
# Columns of a kind frame that are not input columns (never written to errors files).
_NOT_INPUT = {*SOURCE_COLUMNS, "key", "outcome", ERROR_COLUMN}


def results_table(report: RunReport, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per input row: where it came from, its outcome, worst level, rules, messages.

    ``summary`` is ``row_problems(report.problems)`` when the caller already has it.
    """
    parts = [_row_identity(kind, frame) for kind, frame in kind_frames(report)]
    rows = pd.concat(parts, ignore_index=True) if parts else _row_identity("users", None)
    if summary is None:
        summary = row_problems(report.problems)
    joined = _attach(rows, summary[[*ROW_KEYS, "level", "rule", "message"]])
    return joined.reindex(columns=RESULT_COLUMNS)


def errors_tables(
    report: RunReport, summary: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Per kind with failing rows: source_file, source_row, the input columns, ``error``.

    Ready to fix and re-import: the readers ignore source_file, source_row and error.
    """
    if summary is None:
        summary = row_problems(report.problems)
    summary = summary[[*ROW_KEYS, "worst_messages"]].rename(
        columns={"worst_messages": ERROR_COLUMN}
    )
    tables = {}
    for kind, frame in kind_frames(report):
        failing = frame[frame["outcome"].isin(FAILING_OUTCOMES)] if "outcome" in frame else None
        if failing is None or failing.empty:
            continue
        rows = _row_identity(kind, failing)
        rows = _attach(rows, summary)
        table = failing.reindex(columns=["source_file", "source_row", *input_columns(report, kind)])
        if PASSWORD in table:
            table[PASSWORD] = pd.Series(pd.NA, index=table.index, dtype="str")  # R1
        table[ERROR_COLUMN] = rows[ERROR_COLUMN].to_numpy()
        tables[kind] = table.reset_index(drop=True)
    return tables


def problems_table(report: RunReport) -> pd.DataFrame:
    """Every problem, in PROBLEM_COLUMNS; a password cell's value is blanked (R1)."""
    table = report.problems.reindex(columns=PROBLEM_COLUMNS)
    secret = table["column"].eq(PASSWORD).fillna(False)
    if secret.any():
        table = table.copy()
        table.loc[secret, "value"] = pd.NA
    return table


def changes_table(report: RunReport) -> pd.DataFrame | None:
    """changes.csv in CHANGE_COLUMNS; a password never leaves in before/after (R1)."""
    if report.changes is None:
        return None
    table = report.changes.reindex(columns=CHANGE_COLUMNS)
    for column in ("before", "after"):
        table[column] = _without_password_field(table[column])
    return table


def invitations_table(report: RunReport) -> pd.DataFrame | None:
    if report.invitations is None:
        return None
    return report.invitations.drop(columns=[PASSWORD], errors="ignore")  # R1


def counts(report: RunReport, results: pd.DataFrame | None = None) -> list[dict]:
    """summary.json ``counts``: {entity, change, count}, then {entity, outcome, count}."""
    if results is None:
        results = results_table(report)
    out = []
    if report.changes is not None:
        out += _count(report.changes, "change")
    return out + _count(results, "outcome")


def kind_frames(report: RunReport):
    """(kind, frame) pairs, the SPEC's kinds first in their order, then any other."""
    order = [k for k in KINDS if k in report.frames]
    order += [k for k in report.frames if k not in KINDS]
    return [(kind, report.frames[kind]) for kind in order]


def input_columns(report: RunReport, kind: str) -> list[str]:
    """The input columns of ``kind`` as read; records add the extra columns they keep."""
    frame = report.frames[kind]
    columns = list(report.columns.get(kind) or [c for c in COLUMNS.get(kind, ()) if c in frame])
    if kind == "records":
        known = {*columns, *COLUMNS[kind], *_NOT_INPUT}
        columns += [c for c in frame.columns if c not in known]
    return columns


def row_problems(problems: pd.DataFrame) -> pd.DataFrame:
    """Per input row with problems: worst ``level``, distinct ``rule``s and every
    ``message`` joined by "; ", and ``worst_messages`` (those at the worst level).

    Vectorized, for every entity at once.
    """
    rows = problems[problems["source_row"].notna() & problems["entity"].notna()]
    keys = pd.DataFrame({k: rows[k] for k in ROW_KEYS}).reset_index(drop=True)
    keys["source_sheet"] = keys["source_sheet"].fillna("")
    keys["source_row"] = keys["source_row"].astype("int64")
    # Number the groups by first appearance, then order the problems by group (stable,
    # so each group keeps its problems' order): a group is a slice, a list is offsets.
    group = keys.groupby(ROW_KEYS, sort=False, dropna=False).ngroup().to_numpy()
    groups = int(group.max()) + 1 if len(group) else 0
    order = np.argsort(group, kind="stable")
    group = group[order]
    offsets = _offsets(group, groups)
    rank = _rank(rows["level"])[order]
    worst_rank = np.maximum.reduceat(rank, offsets[:-1]) if groups else rank
    worst = rank == np.repeat(worst_rank, np.diff(offsets))
    rule = _text(rows["rule"]).take(order)
    message = pc.coalesce(_text(rows["message"]), _text(rows["rule"]), "").take(order)
    distinct = _first_of_each(group, rule)
    out = keys[~pd.Series(group[np.argsort(order)]).duplicated().to_numpy()]
    out = out.reset_index(drop=True)
    out["level"] = pa.array(_LEVELS).take(worst_rank).to_pandas()
    out["rule"] = _joined(rule.filter(distinct), _offsets(group[distinct], groups))
    out["message"] = _joined(message, offsets)
    out["worst_messages"] = _joined(message.filter(worst), _offsets(group[worst], groups))
    return out


def _rank(levels: pd.Series) -> np.ndarray:
    """LEVEL_RANK of each level; an unknown level ranks as info."""
    ranks = pc.index_in(_text(levels), value_set=pa.array(_LEVELS, type=pa.large_string()))
    return pc.fill_null(ranks, 0).to_numpy().astype("int8")


def _text(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _first_of_each(group: np.ndarray, values: pa.Array) -> np.ndarray:
    """Mask of the first occurrence of each non-missing value within its group."""
    codes, uniques = pd.factorize(values.to_pandas(), use_na_sentinel=True)
    pairs = pd.Series(group.astype("int64") * (len(uniques) + 1) + codes)
    return (~pairs.duplicated()).to_numpy() & (codes >= 0)


def _offsets(group: np.ndarray, groups: int) -> np.ndarray:
    """Where each group starts in sorted ``group`` ids, plus the end: list offsets."""
    sizes = np.bincount(group, minlength=groups)
    return np.concatenate([[0], np.cumsum(sizes)]).astype("int32")


def _joined(items: pa.Array, offsets: np.ndarray) -> pd.Series:
    """Each group's items joined by "; " (missing when it has none)."""
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), items)
    joined = pc.binary_join(lists, pa.scalar(SEPARATOR, type=pa.large_string()))
    return pd.Series(joined.to_pandas(), dtype="str").replace("", pd.NA)


def _attach(rows: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (with ROW_KEYS) left-joined to a per-row summary, keeping row order."""
    left = rows.assign(
        source_sheet=rows["source_sheet"].fillna(""),
        source_row=rows["source_row"].astype("Int64"),
    )
    right = summary.assign(source_row=summary["source_row"].astype("Int64"))
    joined = left.merge(right, on=ROW_KEYS, how="left", sort=False, validate="many_to_one")
    joined["source_sheet"] = rows["source_sheet"].to_numpy()
    return joined


def _row_identity(kind: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """source_file, source_sheet, source_row, entity, key, outcome of each row of a kind frame."""
    index = pd.RangeIndex(0) if frame is None else frame.index
    frame = pd.DataFrame(index=index) if frame is None else frame

    def column(name: str, dtype: str = "str") -> pd.Series:
        if name in frame:
            return frame[name].astype(dtype)
        return pd.Series(pd.NA, index=index, dtype=dtype)

    identity = pd.DataFrame(
        {
            "source_file": column("source_file"),
            "source_sheet": column("source_sheet"),
            "source_row": column("source_row", "Int64"),
            "entity": pd.Series(ENTITY_OF_KIND.get(kind, kind), index=index, dtype="str"),
            "key": column("key"),
            "outcome": column("outcome"),
        }
    )
    return identity.reset_index(drop=True)


def _count(table: pd.DataFrame, what: str) -> list[dict]:
    if table.empty:
        return []
    sizes = table.groupby(["entity", what], sort=True, dropna=False).size()
    return [
        {"entity": _plain(entity), what: _plain(value), "count": int(count)}
        for (entity, value), count in sizes.items()
    ]


def _plain(value):
    return None if pd.isna(value) else value


def _without_password_field(column: pd.Series) -> pd.Series:
    """Drop a ``password`` key from JSON cells; a safety net, the plan never puts one there."""
    suspect = column.astype("str").str.contains('"password"', regex=False, na=False)
    if not suspect.any():
        return column
    column = column.copy()
    column[suspect] = column[suspect].map(_drop_password_key)
    return column


def _drop_password_key(text: str) -> str:
    try:
        fields = json.loads(text)
    except ValueError:
        return text.replace(PASSWORD, "[removed]")
    if isinstance(fields, dict):
        fields.pop(PASSWORD, None)
    return json.dumps(fields, ensure_ascii=False)
