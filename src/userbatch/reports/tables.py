"""The report tables of SPEC §7, built from a RunReport by pure functions.

Reports render tables and know no rule. Joining problems onto input rows is vectorized
(sorted groups as pyarrow list offsets): a million rows with a problem each take about a second.
The two long tables, results and changes, are built chunk by chunk as they are written
(``ChunkedTable``), so neither exists whole beside the plan (issue "Scale").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin
from userbatch.frames import text_array as combined_text  # one array, for take()
from userbatch.io.writers import text_array, text_bytes
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
_PASSWORD_WORD = re.compile(PASSWORD.encode())
_LEVELS = sorted(LEVEL_RANK, key=LEVEL_RANK.get)  # by rank: info, warning, error
# Columns of a kind frame that are not input columns (never written to errors files).
_NOT_INPUT = {*SOURCE_COLUMNS, "key", "outcome", ERROR_COLUMN}
# Rows of a long table built at a time: ~10 MiB of text, whatever the run's size.
CHUNK_ROWS = 50_000
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str``


@dataclass(frozen=True)
class ChunkedTable:
    """A report table built chunk by chunk, as ``write_csv`` writes it: never held whole.

    ``parts(rows)`` yields its rows in order in frames of at most ``rows`` rows (at least
    one frame, maybe empty). ``len``, ``columns`` and ``head`` serve report.xlsx and
    report.html, which show the first rows only.
    """

    columns: tuple[str, ...]
    rows: int
    parts: Callable[[int], Iterator[pd.DataFrame]]

    def __len__(self) -> int:
        return self.rows

    def chunks(self, rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The rows in order, ``rows`` (default CHUNK_ROWS) at a time."""
        return self.parts(rows or CHUNK_ROWS)

    def head(self, n: int) -> pd.DataFrame:
        """The first ``n`` rows as one frame."""
        taken, size = [], 0
        for part in self.parts(max(n, 1)):
            if taken and size >= n:
                break
            taken.append(part)
            size += len(part)
        return pd.concat(taken, ignore_index=True).iloc[:n]

    def frame(self) -> pd.DataFrame:
        """The whole table as one frame (small runs, tests)."""
        return self.head(self.rows)


def results_table(report: RunReport, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per input row: where it came from, its outcome, worst level, rules, messages.

    ``summary`` is ``row_problems(report.problems)`` when the caller already has it.
    """
    return results_chunks(report, summary).frame()


def results_chunks(report: RunReport, summary: pd.DataFrame | None = None) -> ChunkedTable:
    """results.csv (see ``results_table``) as a ChunkedTable: kind by kind, chunk by chunk."""
    if summary is None:
        summary = row_problems(report.problems)
    summary = summary[[*ROW_KEYS, "level", "rule", "message"]]
    frames = kind_frames(report)

    def parts(rows: int) -> Iterator[pd.DataFrame]:
        empty = True
        for kind, frame in frames:
            for part in _result_parts(kind, frame, summary, rows):
                empty = False
                yield part
        if empty:
            yield _row_identity("users", None).reindex(columns=RESULT_COLUMNS)

    return ChunkedTable(RESULT_COLUMNS, sum(len(f) for _, f in frames), parts)


def _result_parts(
    kind: str, frame: pd.DataFrame, summary: pd.DataFrame, rows: int
) -> Iterator[pd.DataFrame]:
    """The results rows of one kind frame, ``rows`` at a time."""
    problems = _entity_rows(summary, kind)
    find = _row_finder(problems)
    # Slicing a wide kind frame costs per column: keep the columns results show.
    frame = frame[[c for c in (*SOURCE_COLUMNS, "key", "outcome") if c in frame]]
    for start in range(0, len(frame), rows):
        part = frame.iloc[start : start + rows]
        found = find(part)
        part = _row_identity(kind, part)
        for column in ("level", "rule", "message"):
            part[column] = _pick(problems[column], found)
        yield part.reindex(columns=RESULT_COLUMNS)


def errors_tables(
    report: RunReport, summary: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Per kind with failing rows: source_file, source_row, the input columns, ``error``.

    Ready to fix and re-import: the readers ignore source_file, source_row and error.
    """
    if summary is None:
        summary = row_problems(report.problems)
    tables = {}
    for kind, frame in kind_frames(report):
        frame = report.failing.get(kind, frame)
        if "outcome" not in frame:
            continue
        failing = frame[isin(frame["outcome"], FAILING_OUTCOMES).to_numpy()]
        if failing.empty:
            continue
        problems = _entity_rows(summary, kind)
        table = failing.reindex(columns=["source_file", "source_row", *input_columns(report, kind)])
        if PASSWORD in table:
            table[PASSWORD] = pd.Series(pd.NA, index=table.index, dtype="str")  # R1
        error = _pick(problems["worst_messages"], _row_finder(problems)(failing))
        table[ERROR_COLUMN] = error.to_numpy()
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
    chunks = changes_chunks(report)
    return None if chunks is None else chunks.frame()


def changes_chunks(report: RunReport) -> ChunkedTable | None:
    """changes.csv (see ``changes_table``) as a ChunkedTable over the change log."""
    if report.changes is None:
        return None
    changes = report.changes
    fill = report.fill_after or (lambda part, start: part)

    def parts(rows: int) -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(changes), 1), rows):
            yield change_rows(fill(changes.iloc[start : start + rows], start))

    return ChunkedTable(CHANGE_COLUMNS, len(changes), parts)


def change_rows(changes: pd.DataFrame) -> pd.DataFrame:
    """Rows of the change log as changes.csv shows them (R1: no password field)."""
    table = changes.reindex(columns=CHANGE_COLUMNS)
    for column in ("before", "after"):
        table[column] = _without_password_field(table[column])
    return table


def invitations_table(report: RunReport) -> pd.DataFrame | None:
    if report.invitations is None:
        return None
    return report.invitations.drop(columns=[PASSWORD], errors="ignore")  # R1


def counts(report: RunReport, results: pd.DataFrame | None = None) -> list[dict]:
    """summary.json ``counts``: {entity, change, count}, then {entity, outcome, count}.

    The outcomes are counted on the kind frames (a results row is its input row's
    outcome), unless ``results`` is given."""
    out = []
    if report.changes is not None:
        out += _count(report.changes, "change")
    if results is not None:
        return out + _count(results, "outcome")
    tally: dict[tuple, int] = {}
    for kind, frame in kind_frames(report):
        entity = ENTITY_OF_KIND.get(kind, kind)
        if "outcome" in frame:
            outcomes = frame["outcome"]
        else:
            outcomes = pd.Series(pd.NA, index=frame.index, dtype="str")
        for (outcome,), count in _tally(outcomes).items():
            tally[entity, outcome] = tally.get((entity, outcome), 0) + count
    return out + _listed(tally, "outcome")


def kind_frames(report: RunReport):
    """(kind, frame) pairs, the SPEC's kinds first in their order, then any other."""
    order = [k for k in KINDS if k in report.frames]
    order += [k for k in report.frames if k not in KINDS]
    return [(kind, report.frames[kind]) for kind in order]


def input_columns(report: RunReport, kind: str) -> list[str]:
    """The input columns of ``kind`` as read; records add the extra columns they keep."""
    frame = report.failing.get(kind, report.frames[kind])
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
    rule = combined_text(rows["rule"]).take(order)
    message = pc.coalesce(combined_text(rows["message"]), combined_text(rows["rule"]), "").take(
        order
    )
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
    ranks = pc.index_in(combined_text(levels), value_set=pa.array(_LEVELS, type=pa.large_string()))
    return pc.fill_null(ranks, 0).to_numpy().astype("int8")


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


def _entity_rows(summary: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of a per-row summary (``row_problems``) that belong to ``kind``'s entity."""
    entity = summary["entity"].eq(ENTITY_OF_KIND.get(kind, kind)).fillna(False).to_numpy()
    return summary[entity].reset_index(drop=True)


def _row_finder(problems: pd.DataFrame) -> Callable[[pd.DataFrame], np.ndarray]:
    """A function giving, for input rows, the position of each in ``problems`` (one
    entity's per-row summary), -1 where a row has none: a left join on source_file,
    source_sheet, source_row, done on integer codes (pandas' merge on the text keys took
    most of the results table's time)."""
    if problems.empty:
        return lambda rows: np.full(len(rows), -1, dtype=np.int64)
    files = _source_column(problems, "source_file")
    sheets = _source_column(problems, "source_sheet")
    known_files, known_sheets = pc.unique(files), pc.unique(sheets)
    numbers = problems["source_row"].to_numpy(dtype="int64")
    low, span = int(numbers.min()), int(numbers.max() - numbers.min()) + 1

    def codes(file_codes, sheet_codes, numbers):
        return (file_codes * len(known_sheets) + sheet_codes) * span + (numbers - low)

    keys = pd.Index(codes(_codes(files, known_files), _codes(sheets, known_sheets), numbers))

    def find(rows: pd.DataFrame) -> np.ndarray:
        found = np.full(len(rows), -1, dtype=np.int64)
        file_codes = _codes(_source_column(rows, "source_file"), known_files)
        sheet_codes = _codes(_source_column(rows, "source_sheet"), known_sheets)
        number = rows["source_row"] if "source_row" in rows else pd.Series(pd.NA, rows.index)
        number = number.astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
        usable = (file_codes >= 0) & (sheet_codes >= 0) & (number >= low) & (number < low + span)
        wanted = codes(file_codes[usable], sheet_codes[usable], number[usable].astype("int64"))
        found[usable] = keys.get_indexer(wanted)
        return found

    return find


def _source_column(frame: pd.DataFrame, name: str) -> pa.Array | pa.ChunkedArray:
    """A source column as Arrow text for joining; a missing sheet is the empty sheet."""
    if name not in frame:
        values = pa.nulls(len(frame), pa.large_string())
    else:
        values = text_array(frame[name])
    return pc.fill_null(values, "") if name == "source_sheet" else values


def _codes(values: pa.Array | pa.ChunkedArray, known: pa.Array) -> np.ndarray:
    """Index of each value in ``known`` (a missing value matches a missing one), else -1."""
    found = pc.index_in(values, value_set=known, skip_nulls=False)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype("int64")


def _pick(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """``values`` at ``positions`` (-1: missing), as a text Series."""
    return _str_series(text_array(values).take(pa.array(positions, mask=positions < 0)))


def _str_series(values: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """Arrow large_string values as a pandas ``str`` Series, without a copy of the text."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    series = pd.Series(values.to_pandas(types_mapper={pa.large_string(): _STR}.get))
    if index is not None:
        series.index = index
    return series


def _row_identity(kind: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """source_file, source_sheet, source_row, entity, key, outcome of each row of a kind frame."""
    index = pd.RangeIndex(0) if frame is None else frame.index
    frame = pd.DataFrame(index=index) if frame is None else frame

    def column(name: str, dtype: str = "str") -> pd.Series:
        if name in frame and dtype == "str" and isinstance(frame[name].dtype, pd.CategoricalDtype):
            return _str_series(text_array(frame[name]), index)  # see text_array
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
    return _listed(_tally(table["entity"], table[what]), what)


def _tally(*columns: pd.Series) -> dict[tuple, int]:
    """Rows per combination of values (missing: None), str and category columns alike;
    a chunk at a time, so the codes of a long table are never held at once."""
    tally: dict[tuple, int] = {}
    for start in range(0, len(columns[0]), CHUNK_ROWS):
        chunk = [column.iloc[start : start + CHUNK_ROWS] for column in columns]
        for key, count in _tally_chunk(*chunk).items():
            tally[key] = tally.get(key, 0) + count
    return tally


def _tally_chunk(*columns: pd.Series) -> dict[tuple, int]:
    """Each column as codes, the combination as one number, counted by bincount."""
    combined, labels = np.zeros(len(columns[0]), dtype="int64"), []
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        names = [_plain(v) for v in uniques] + [None]
        combined = combined * len(names) + np.where(codes < 0, len(uniques), codes)
        labels.append(names)
    sizes = np.bincount(combined)
    tally = {}
    for code in np.flatnonzero(sizes):
        key, rest = [], int(code)
        for names in reversed(labels):
            rest, position = divmod(rest, len(names))
            key.append(names[position])
        tally[tuple(reversed(key))] = int(sizes[code])
    return tally


def _listed(tally: dict[tuple, int], what: str) -> list[dict]:
    """{entity, what, count} sorted by entity then value, missing last (as groupby did)."""

    def order(pair):
        return tuple(part for value in pair for part in (value is None, value or ""))

    return [
        {"entity": entity, what: value, "count": count}
        for (entity, value), count in sorted(tally.items(), key=lambda item: order(item[0]))
    ]


def _plain(value):
    return None if pd.isna(value) else value


def _without_password_field(column: pd.Series) -> pd.Series:
    """Drop a ``password`` key from JSON cells; a safety net, the plan never puts one there.

    Object cells (JSON text or blanks) come back as ``str``, the form write_csv takes."""
    text = text_array(column)
    if column.dtype == np.dtype(object):
        column = _str_series(text, column.index)
    # One byte search over the chunk's text first: the cells are looked at one by one
    # only when some hold the word at all (never, from the plan).
    if not any(_PASSWORD_WORD.search(chunk) for chunk in text_bytes(text)):
        return column
    suspect = pc.fill_null(pc.match_substring(text, f'"{PASSWORD}"'), False)
    suspect = np.asarray(suspect.to_numpy(zero_copy_only=False), dtype=bool)
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
