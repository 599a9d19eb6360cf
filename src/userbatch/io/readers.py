"""Read INPUT files (CSV, XLSX/XLSM, folders) into one text frame per kind (SPEC §2).

The contract is docs/ARCHITECTURE.md ``io.readers.read_inputs``. Files are guarded first
(guards.py), then parsed as text only: CSV by pandas' pyarrow engine, workbooks by
calamine. A sheet's kind comes from its name when it has that kind's required headers,
else from its headers; headers map through aliases.py. Cleaning is vectorized and
reports only the cells it changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pandas.api.types import union_categoricals
from python_calamine import CalamineWorkbook, SheetTypeEnum

from userbatch.errors import UnsafeFileError
from userbatch.frames import release_memory
from userbatch.io import guards
from userbatch.io.aliases import BLOCK_SIGN_IN, Header, resolve
from userbatch.io.encodings import check_encoding, sniff_delimiter, to_utf8
from userbatch.problems import Problems
from userbatch.vocabulary import (
    COLUMNS,
    ENTITY_OF_KIND,
    FALSE_WORDS,
    KINDS,
    REQUIRED,
    SOURCE_COLUMNS,
    TRUE_WORDS,
)

DEFAULT_MAX_BYTES = guards.DEFAULT_MAX_BYTES

# A file or sheet named so gets that kind when it has the kind's required headers.
NAME_PREFIXES = (
    ("users", "users"),
    ("licenses", "licenses"),
    ("memberships", "memberships"),
    ("groups", "memberships"),
    ("roles", "roles"),
    ("records", "records"),
)
# Snapshot sheets (SPEC §3) that are no input kind: skipped with an info line.
SNAPSHOT_ONLY = ("environments", "skus", "domains", "groups", "security_roles", "environment_users")
# Our CSV formula neutralization (SPEC §7) put a ' before these; readers drop it again.
_NEUTRALIZED = r"^'[=+\-@\t\r]"
_VERSION_LINE = re.compile(rb"^version:", re.IGNORECASE)
# pyarrow parses a CSV in blocks (in parallel); each becomes a chunk of every column.
# Its default, 1 MiB: 8 MiB blocks made fewer chunks but raised the read's peak RSS by
# ~150 MiB at 1M users (more parsed data in flight).
_BLOCK_BYTES = 1 << 20


@dataclass
class ReadResult:
    frames: dict[str, pd.DataFrame]
    columns: dict[str, list[str]]
    problems: Problems
    inputs: list[dict[str, str]]
    rejected_files: list[str]


class RawSheet(NamedTuple):
    """One sheet as text: ``frame`` columns are the headers as written (duplicates possible),
    empty cells missing; frame row ``i`` is spreadsheet row ``first_row + i``."""

    name: str  # the sheet name; a CSV's file stem
    frame: pd.DataFrame
    first_row: int


@dataclass
class _Table:
    """One CSV or worksheet before kind detection; ``body`` has positional columns."""

    file: str  # the path as the user named it
    sheet: str | None  # None for CSV
    headers: list[str]
    body: pd.DataFrame  # text cells, "" for empty, columns 0..n-1
    first_row: int

    @property
    def name(self) -> str:
        return self.sheet if self.sheet is not None else Path(self.file).stem

    @property
    def where(self) -> str:
        return self.file if self.sheet is None else f"{self.file}, sheet {self.sheet}"


class _File(NamedTuple):
    name: str
    is_csv: bool
    sha256: str
    tables: list[_Table]
    rejection: _Rejected | None = None  # a CSV too malformed to parse


class _Rejected(Exception):
    """A file-level rejection: recorded as an error problem and in rejected_files."""

    def __init__(self, rule: str, message: str, column: str | None = None):
        super().__init__(message)
        self.rule, self.column = rule, column


# ---------------------------------------------------------------- public API


def read_inputs(
    paths: Iterable[str | Path],
    *,
    encoding: str | None = None,
    group: str | None = None,
    usage_location: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ReadResult:
    """Read every INPUT into kind frames, in input order; unsafe files raise UnsafeFileError."""
    check_encoding(encoding)
    reading = _Reading(group=group, usage_location=usage_location)
    for arg in paths:
        for path, name in _expand(arg):
            file = _read_file(path, name, encoding, max_bytes, reading.problems)
            reading.inputs.append({"path": name, "sha256": file.sha256})
            reading.add_file(file)
    result = reading.result()
    # The raw tables and the cleaning's transients are gone: hand their pages back.
    release_memory()
    return result


def read_sheets(
    path: str | Path, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[RawSheet]:
    """Every sheet of a .csv, a workbook or a folder of them, as text, guards applied.

    For the snapshot loader: no kinds, aliases or cleaning beyond empty -> missing.
    """
    check_encoding(encoding)
    sheets = []
    for path_, name in _expand(path):
        file = _read_file(path_, name, encoding, max_bytes, Problems())
        if file.rejection:  # unparseable: for a snapshot as fatal as a corrupt workbook
            raise UnsafeFileError(str(file.rejection))
        for table in file.tables:
            frame = table.body.set_axis(table.headers, axis=1)
            sheets.append(RawSheet(table.name, frame.where(frame != ""), table.first_row))
    return sheets


# ---------------------------------------------------------------- files


def _expand(arg: str | Path) -> list[tuple[Path, str]]:
    """An INPUT as (path, display name) pairs: a folder gives its tables sorted by name."""
    path = Path(arg)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if _is_table(p) and p.is_file()), key=lambda p: p.name
        )
        if not files:
            raise guards.refuse(str(arg), "the folder holds no .csv, .xlsx or .xlsm file")
        return [(p, str(path / p.name)) for p in files]
    if path.exists() and path.suffix.lower() not in guards.TABLE_SUFFIXES:
        raise guards.refuse(str(arg), "not a .csv, .xlsx or .xlsm file")
    return [(path, str(arg))]


def _is_table(path: Path) -> bool:
    # Excel's "~$name.xlsx" lock files and hidden files are not inputs.
    return path.suffix.lower() in guards.TABLE_SUFFIXES and not path.name.startswith(("~$", "."))


def _read_file(
    path: Path, name: str, encoding: str | None, max_bytes: int, problems: Problems
) -> _File:
    if path.suffix.lower() == ".csv":
        return _read_csv(path, name, encoding, max_bytes, problems)
    guards.check_workbook(path, name, max_bytes)
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return _File(name, False, digest, _read_workbook(path, name))


def _read_csv(
    path: Path, name: str, encoding: str | None, max_bytes: int, problems: Problems
) -> _File:
    raw = guards.read_text_bytes(path, name, max_bytes, encoding)
    with ThreadPoolExecutor(1) as pool:  # hashlib releases the GIL: hash while parsing
        digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())
        tables, rejection = _parse_text(raw, name, encoding, problems)
    return _File(name, True, digest.result(), tables, rejection)


def _parse_text(
    raw: bytes, name: str, encoding: str | None, problems: Problems
) -> tuple[list[_Table], _Rejected | None]:
    decoded = to_utf8(raw, name, encoding)
    if decoded.guessed:
        problems.add_one(
            level="warning",
            rule="encoding",
            source_file=name,
            message=f"{name} is not UTF-8; read as {decoded.encoding} (pass --encoding to choose)",
        )
    data = decoded.data
    # Entra's templates start with a "version:v1.0" line: row 1, the headers row 2.
    skip = 1 if _VERSION_LINE.match(data[:16]) else 0
    start = data.find(b"\n") + 1 if skip else 0
    end = data.find(b"\n", start)
    header_line = data[start : end if end >= 0 else None].decode("utf-8", "replace")
    try:
        grid = _parse_csv(data, sniff_delimiter(header_line), skip, name)
    except _Rejected as rejection:
        return [], rejection
    return [_table_of(name, None, grid, skip)], None


def _parse_csv(data: bytes, delimiter: str, skip: int, name: str) -> pd.DataFrame:
    """Every record as text, blank lines kept as rows so row numbers stay the spreadsheet's."""
    try:
        return _arrow_csv(data, delimiter, skip)
    except pa.ArrowInvalid:
        pass  # a ragged row: pyarrow wants every row as wide as the header
    options = dict(
        sep=delimiter,
        header=None,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        skip_blank_lines=False,
        skiprows=skip,
    )
    try:
        # The C parser pads short rows; a row wider than the header is still refused.
        return pd.read_csv(io.BytesIO(data), engine="c", **options).fillna("")
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1].removeprefix("Error tokenizing data. ")
        raise _Rejected("malformed_csv", f"{name} is not a well-formed CSV: {detail}") from None


def _arrow_csv(data: bytes, delimiter: str, skip: int) -> pd.DataFrame:
    """pyarrow's CSV reader straight to `str` columns: no copy on the way into pandas.

    The same options pandas' pyarrow engine passes, but without its conversion pass
    (a third of the read time and a transient copy of every column).
    """
    table = pa_csv.read_csv(
        pa.BufferReader(data),
        read_options=pa_csv.ReadOptions(
            skip_rows=skip, autogenerate_column_names=True, block_size=_BLOCK_BYTES
        ),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            check_utf8=False,  # to_utf8 has made the bytes UTF-8
            default_column_type=pa.large_string(),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return pd.DataFrame({position: _text(column) for position, column in enumerate(table.columns)})


def _text(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """An Arrow string column as a `str` Series, zero-copy."""
    return pd.Series(column, dtype="str")


def _read_workbook(path: Path, name: str) -> list[_Table]:
    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets = [
            (meta.name, book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False))
            for meta in book.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet
        ]
    except Exception as exc:  # calamine's errors vary by broken part; all mean "corrupt"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise guards.refuse(name, f"corrupt workbook ({reason})") from None
    return [_table_of(name, sheet, _grid(rows), 0) for sheet, rows in sheets]


def _grid(rows: list[list]) -> pd.DataFrame:
    """calamine's cells as text, as Excel shows them as far as it knows."""
    grid = pd.DataFrame(rows, dtype=object)
    return pd.DataFrame({c: _column_text(grid[c].to_numpy()) for c in grid.columns})


def _column_text(cells: np.ndarray) -> pd.Series:
    if pd.api.types.infer_dtype(cells, skipna=False) != "string":  # numbers, dates: rare
        cells = np.array([_cell_text(value) for value in cells], dtype=object)
    return pd.Series(pa.array(cells, type=pa.large_string()), dtype="str")


def _cell_text(value) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float; 123 shows as 123, not 123.0.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _table_of(file: str, sheet: str | None, grid: pd.DataFrame, skipped: int) -> _Table:
    """Split a grid at its header: the first non-blank row (after an Entra version row)."""
    header = _first_filled_row(grid, 0)
    if header is not None and _is_version_row(grid.iloc[header]):
        header = _first_filled_row(grid, header + 1)
    if header is None:
        return _Table(file, sheet, [], grid.iloc[:0, :0], skipped + len(grid) + 1)
    headers = [str(h) for h in grid.iloc[header]]
    body = grid.iloc[header + 1 :].reset_index(drop=True)
    body.columns = range(len(headers))
    return _Table(file, sheet, headers, body, skipped + header + 2)


def _first_filled_row(grid: pd.DataFrame, start: int) -> int | None:
    for position in range(start, len(grid)):  # leading blank rows are few
        if (grid.iloc[position] != "").any():
            return position
    return None


def _is_version_row(row: pd.Series) -> bool:
    return str(row.iloc[0]).lower().startswith("version:") and not (row.iloc[1:] != "").any()


# ---------------------------------------------------------------- kinds


@dataclass
class _Reading:
    """The state of one read_inputs call: parts per kind, problems, rejections."""

    group: str | None
    usage_location: str | None
    problems: Problems = field(default_factory=Problems)
    inputs: list[dict[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    parts: dict[str, list[pd.DataFrame]] = field(default_factory=lambda: {k: [] for k in KINDS})
    columns: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def add_file(self, file: _File) -> None:
        whole = _Table(file.name, None, [], pd.DataFrame(), 1)  # where file-level problems point
        if file.rejection:
            self.reject(whole, file.rejection)
            return
        rows, rejected = 0, len(self.rejected)
        for table in file.tables:
            try:
                rows += self.add_table(table, is_csv=file.is_csv)
            except _Rejected as rejection:
                self.reject(table, rejection)
        if not file.is_csv and not rows and len(self.rejected) == rejected:
            self.reject(whole, _Rejected("no_rows", f"{file.name} holds no rows of any kind"))

    def add_table(self, table: _Table, *, is_csv: bool) -> int:
        """Add one CSV or sheet to its kind; the number of rows it gave."""
        resolved = [resolve(h) for h in table.headers]
        kind = _kind_of(table, resolved, self.group, is_csv=is_csv)
        if kind is None:
            self.info(table, f"{table.where}: not an input kind (headers fit none); skipped")
            return 0
        _check_duplicates(table, resolved)  # only where it matters: not on a "Read me" sheet
        frame = _kind_frame(table, resolved, kind, self)
        if frame.empty:
            if is_csv:
                raise _Rejected("no_rows", f"{table.where} has headers but no rows")
            self.info(table, f"{table.where}: no rows; skipped")
            return 0
        self.parts[kind].append(frame)
        return len(frame)

    def info(self, table: _Table, message: str, rule: str = "skipped") -> None:
        self.problems.add_one(
            level="info",
            rule=rule,
            message=message,
            source_file=table.file,
            source_sheet=table.sheet,
        )

    def reject(self, table: _Table, rejection: _Rejected) -> None:
        self.problems.add_one(
            level="error",
            rule=rejection.rule,
            message=str(rejection),
            source_file=table.file,
            source_sheet=table.sheet,
            column=rejection.column,
        )
        self.rejected.append(str(rejection))

    def result(self) -> ReadResult:
        frames = {kind: _concat(self.parts[kind], kind) for kind in KINDS}
        return ReadResult(frames, self.columns, self.problems, self.inputs, self.rejected)


def _check_duplicates(table: _Table, resolved: list[Header]) -> None:
    """Two headers meaning the same column: refuse the file (duplicate_header)."""
    seen: dict[str, str] = {}
    for header in resolved:
        if not header.written or header.ignore == "source":
            continue
        meaning = header.column or header.key
        meaning = "sign_in_allowed" if meaning == BLOCK_SIGN_IN else meaning
        if meaning in seen:
            raise _Rejected(
                "duplicate_header",
                f"{table.where}: headers {seen[meaning]!r} and {header.written!r} "
                f"both name column {meaning}",
                column=meaning,
            )
        seen[meaning] = header.written


def _kind_by_name(name: str) -> str | None:
    lowered = name.strip().lower()
    return next((kind for prefix, kind in NAME_PREFIXES if lowered.startswith(prefix)), None)


def _fits(kind: str, columns: set[str]) -> bool:
    if kind == "memberships":
        return "member" in columns  # Entra's bulk-add-members file: the group is --group
    return set(REQUIRED[kind]) <= columns


def _kind_of(
    table: _Table, resolved: list[Header], group: str | None, *, is_csv: bool
) -> str | None:
    """The kind by name when the headers fit it, else by headers alone (SPEC §2).

    None for a sheet of no kind: a snapshot-only sheet (environment_users has a
    user_name column, yet is no users input), an empty or explanation sheet.
    """
    columns = {h.column for h in resolved if h.column}
    named = _kind_by_name(table.name)
    fits = [kind for kind in KINDS if _fits(kind, columns)]
    if table.name.strip().lower() in SNAPSHOT_ONLY and named not in fits:
        return None  # "groups" holding group,member is a memberships input all the same
    kind = named if named in fits else _most_specific(table, fits)
    if kind == "memberships" and "group" not in columns and not group:
        raise _Rejected(
            "missing_column",
            f"{table.where} lists group members without a group column: "
            "pass --group GROUP to name the group",
            column="group",
        )
    if kind:
        return kind
    if not is_csv and not (named and any(table.headers)):
        return None  # an explanation or empty sheet
    if named:
        missing = ", ".join(c for c in REQUIRED[named] if c not in columns)
        message = f"{table.where} is named like {named} but lacks required column(s) {missing}"
        raise _Rejected("missing_column", message, missing)
    needs = "; ".join(f"{k}: {', '.join(REQUIRED[k])}" for k in KINDS)
    raise _Rejected("missing_column", f"{table.where}: its headers fit no input kind ({needs})")


def _most_specific(table: _Table, fits: list[str]) -> str | None:
    """Of the kinds whose required headers are all there, the one that needs most."""
    if not fits:
        return None
    best = max(len(REQUIRED[kind]) for kind in fits)
    top = [kind for kind in fits if len(REQUIRED[kind]) == best]
    if len(top) > 1:
        raise _Rejected(
            "ambiguous_kind",
            f"{table.where}: headers fit both {' and '.join(top)}; "
            f"name the file or sheet {top[0]}… or {top[1]}…",
        )
    return top[0]


# ---------------------------------------------------------------- kind frames


def _kind_frame(
    table: _Table, resolved: list[Header], kind: str, reading: _Reading
) -> pd.DataFrame:
    """The table's rows as a kind frame: source columns, kept columns cleaned, blanks dropped."""
    kept = _kept_columns(table, resolved, kind, reading)
    body = table.body
    rows = len(body)
    frame = pd.DataFrame(
        {
            "source_file": _one_file(table.file, rows),
            "source_sheet": _repeated(table.sheet, rows),
            "source_row": np.arange(table.first_row, table.first_row + rows, dtype="int64"),
            **{column: body[position] for position, column in kept},
        }
    )
    values = [column for _, column in kept]
    _clean(frame, values, ENTITY_OF_KIND[kind], reading.problems)
    filled = _filled(frame, values)
    if filled is not None:  # fully blank rows go; the others keep their numbers
        frame = frame[filled].reset_index(drop=True)
    if BLOCK_SIGN_IN in frame:
        frame = frame.assign(**{BLOCK_SIGN_IN: _invert_yes_no(frame[BLOCK_SIGN_IN])})
        frame = frame.rename(columns={BLOCK_SIGN_IN: "sign_in_allowed"})
    _note_columns(reading.columns[kind], values)
    frame = _fill_defaults(frame, table, kind, reading)
    extras = [c for c in frame.columns if c not in COLUMNS[kind] and c not in SOURCE_COLUMNS]
    return _with_columns(frame, [*SOURCE_COLUMNS, *COLUMNS[kind], *extras])


def _one_file(file: str, rows: int) -> pd.Categorical:
    """source_file as a categorical: one code byte per row instead of the path's text."""
    return pd.Categorical.from_codes(
        np.zeros(rows, dtype=np.int8), categories=pd.Index([file], dtype="str")
    )


def _repeated(text: str | None, rows: int) -> pd.Series:
    """``text`` on every row as `str` (missing for None), built from buffers in one step."""
    if text is None:
        return _text(pa.nulls(rows, pa.large_string()))
    encoded = text.encode("utf-8")
    offsets = np.arange(rows + 1, dtype="int64") * len(encoded)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(encoded * rows)]
    return _text(pa.Array.from_buffers(pa.large_string(), rows, buffers))


def _filled(frame: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """Rows with any value in ``columns``; None when that is every row (the usual case)."""
    arrays = [pa.array(frame[c]) for c in columns]
    if any(array.null_count == 0 for array in arrays):
        return None  # a column without blanks: no row is fully blank
    if not arrays:
        return np.zeros(len(frame), dtype=bool)
    filled = np.zeros(len(frame), dtype=bool)
    for array in arrays:
        filled |= pc.is_valid(array).to_numpy(zero_copy_only=False)
    return None if filled.all() else filled


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns``, in order; an absent one as missing `str` values."""
    absent = pd.Series(pa.nulls(len(frame), pa.large_string()), index=frame.index, dtype="str")
    return pd.DataFrame({c: frame[c] if c in frame else absent for c in columns})


def _kept_columns(
    table: _Table, resolved: list[Header], kind: str, reading: _Reading
) -> list[tuple[int, str]]:
    """(position, column name) of the columns the kind keeps; the rest reported and dropped."""
    kept = []
    for position, header in enumerate(resolved):
        column = header.column
        if header.ignore == "source":
            continue
        if not header.written:
            if (table.body[position] != "").any():
                _warn_column(reading, table, f"column {position + 1} has no header; ignored")
        elif header.ignore:
            reading.info(
                table,
                f"{table.where}: {header.written}: {header.ignore}; ignored",
                rule="unknown_column",
            )
        elif column in COLUMNS[kind] or (column == BLOCK_SIGN_IN and kind == "users"):
            kept.append((position, column))
        elif kind == "records":
            kept.append((position, header.written))  # SPEC §2: records keep any column
        else:
            _warn_column(reading, table, f"unknown column {header.written!r} for {kind}; ignored")
    return kept


def _warn_column(reading: _Reading, table: _Table, message: str) -> None:
    reading.problems.add_one(
        level="warning",
        rule="unknown_column",
        message=f"{table.where}: {message}",
        source_file=table.file,
        source_sheet=table.sheet,
    )


def _clean(frame: pd.DataFrame, columns: list[str], entity: str, problems: Problems) -> None:
    """Trim, drop our formula-neutralizing quote, empty -> missing; warn per changed cell.

    One column at a time on this thread: a thread pool saved little on two cores, and each
    of its threads kept its own Arrow allocations (tens of MiB of RSS at 300k rows).
    """
    for column in columns:
        cells, trimmed, quoted = _clean_column(pa.array(frame[column]))
        if trimmed is not None:
            _warn_cells(frame, trimmed, column, entity, problems, "spaces around the value trimmed")
        if quoted is not None:
            _warn_cells(
                frame,
                quoted,
                column,
                entity,
                problems,
                "leading ' before a formula character dropped",
            )
        frame[column] = _text(cells)


def _clean_column(written: pa.ChunkedArray):
    """(cleaned cells, trimmed mask or None, unquoted mask or None), all Arrow.

    At a million rows keeping copies of unchanged columns costs more than the cleaning.
    """
    cells = pc.utf8_trim_whitespace(written)
    # Trimming only ever shortens a cell: comparing lengths is cheaper than comparing text.
    trimmed = pc.not_equal(pc.binary_length(cells), pc.binary_length(written))
    if not pc.any(trimmed).as_py():
        cells, trimmed = written, None  # let the copy go; its memory is reused
    quoted = None
    if pc.any(pc.starts_with(cells, "'")).as_py():
        quoted = pc.match_substring_regex(cells, _NEUTRALIZED)
        cells = pc.if_else(quoted, pc.utf8_slice_codeunits(cells, 1), cells)
    empty = pc.equal(pc.binary_length(cells), 0)
    if trimmed is not None:  # a cell of only spaces is blank, not trimmed
        trimmed = pc.and_not(trimmed, empty)
    if pc.any(empty).as_py():
        cells = _missing_where_empty(cells)
    return cells, trimmed, quoted


def _missing_where_empty(cells: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Empty cells as missing, keeping the text buffers: only a validity bitmap is new."""
    filled = pc.and_kleene(pc.is_valid(cells), pc.not_equal(pc.binary_length(cells), 0))
    if isinstance(cells, pa.Array):
        return _with_validity(cells, filled)
    if [len(c) for c in filled.chunks] != [len(c) for c in cells.chunks]:
        return pc.if_else(filled, cells, pa.scalar(None, cells.type))
    chunks = [_with_validity(c, f) for c, f in zip(cells.chunks, filled.chunks, strict=True)]
    return pa.chunked_array(chunks, cells.type)


def _with_validity(chunk: pa.Array, filled: pa.BooleanArray) -> pa.Array:
    """``chunk`` with ``filled`` as its validity bitmap; the text buffers are shared."""
    if chunk.offset or filled.offset:  # a sliced chunk: line the bitmap up with its offset
        filled = pa.concat_arrays([pa.array(np.zeros(chunk.offset, dtype=bool)), filled])
    # A boolean array's values are a bitmap: exactly the validity bitmap wanted.
    buffers = [filled.buffers()[1], *chunk.buffers()[1:]]
    return pa.Array.from_buffers(
        chunk.type, len(chunk), buffers, null_count=-1, offset=chunk.offset
    )


def _warn_cells(frame, mask, column, entity, problems, message) -> None:
    mask = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    if mask.any():
        rows = frame[[*SOURCE_COLUMNS, column]][mask]  # narrow first: a mask copies each column
        problems.add_rows(
            rows.assign(source_file=rows["source_file"].astype("str")),  # problems hold text
            entity=entity,
            rule="cleaned",
            level="warning",
            message=message,
            column=column,
        )


def _invert_yes_no(block: pd.Series) -> pd.Series:
    """Entra's "Block sign in": yes -> no, no -> yes; anything else stays for the schema."""
    word = block.str.lower()
    return block.mask(word.isin(TRUE_WORDS), "no").mask(word.isin(FALSE_WORDS), "yes")


def _fill_defaults(
    frame: pd.DataFrame, table: _Table, kind: str, reading: _Reading
) -> pd.DataFrame:
    if kind == "memberships" and "group" not in frame:
        frame = frame.assign(group=pd.Series(reading.group, index=frame.index, dtype="str"))
        _note_columns(reading.columns[kind], ["group"])
    if kind == "users" and reading.usage_location:
        current = frame.get("usage_location", pd.Series(np.nan, index=frame.index, dtype="str"))
        missing = int(current.isna().sum())
        frame = frame.assign(usage_location=current.fillna(reading.usage_location))
        if missing:
            reading.info(
                table,
                f"{table.where}: usage_location {reading.usage_location} "
                f"filled in on {missing} row(s) (--usage-location)",
                rule="usage_location",
            )
    return frame


def _note_columns(seen: list[str], columns: Iterable[str]) -> None:
    for column in columns:
        column = "sign_in_allowed" if column == BLOCK_SIGN_IN else column
        if column not in seen:
            seen.append(column)


def _concat(parts: list[pd.DataFrame], kind: str) -> pd.DataFrame:
    if not parts:
        return _empty_frame(kind)
    if len(parts) == 1:
        return parts[0]  # concat would copy every column
    columns = list(dict.fromkeys(c for part in parts for c in part.columns))
    # Each part's source_file has its own categories; concat would turn them into text.
    files = union_categoricals([part["source_file"] for part in parts])
    rest = [_with_columns(part, columns).drop(columns="source_file") for part in parts]
    frame = pd.concat(rest, ignore_index=True)
    frame.insert(0, "source_file", files)
    return frame


def _empty_frame(kind: str) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in (*SOURCE_COLUMNS, *COLUMNS[kind])})
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame
