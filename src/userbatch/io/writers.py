"""Writing tables to CSV and XLSX so that no value ever becomes a formula (SPEC §7).

CSV report cells that a spreadsheet would run as a formula get a leading ``'``, which
the readers drop again (SPEC §2). In XLSX every text cell is written as text, so no
neutralization is needed there. Files meant for Microsoft's tools (credentials, R1) are
written unaltered with ``neutralize_cells=False``.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from userbatch.frames import is_text, release_memory

# A text cell starting with one of these is run as a formula by spreadsheet software.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"
_IS_FORMULA_BYTE = np.zeros(256, dtype=bool)
_IS_FORMULA_BYTE[list("".join(FORMULA_PREFIXES).encode("ascii"))] = True

# Excel's hard limit is 1,048,576 rows, header included.
EXCEL_MAX_ROWS = 1_048_575
DEFAULT_CAP_NOTE = "Truncated: the first {shown:,} of {total:,} rows are shown."
_MAX_WIDTH = 60


def neutralize(series: pd.Series) -> pd.Series:
    """Prefix ``'`` to every text cell that starts with = + - @ tab or CR; others unchanged."""
    if not _holds_text(series):
        return series
    starts = series.str.contains(_FORMULA_START, regex=True, na=False)
    if not starts.any():
        return series
    out = series.copy()
    out[starts] = "'" + series[starts].astype(str)
    return out


def _holds_text(series: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return True
    if series.dtype != object:
        return False
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "mixed", "mixed-integer")


# Rows converted to Arrow and written at a time: memory stays flat whatever the table's length.
CSV_CHUNK_ROWS = 100_000


def write_csv(
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    path: str | os.PathLike,
    *,
    neutralize_cells: bool = True,
    mode: int | None = None,
) -> Path:
    """Write ``frame`` as UTF-8 CSV (no BOM, no index, ``\n`` line ends, text quoted).

    ``frame`` may also be the table's parts in order (frames with the same columns, at
    least one): they are written one after another under one header, so a table too
    large to hold at once never exists whole. ``mode`` (e.g. ``0o600`` for
    credentials.csv, R1) creates the file with that mode from the start, so a secret is
    never readable by others, not even for a moment.
    """
    path = Path(path)
    parts = [frame] if isinstance(frame, pd.DataFrame) else frame
    if mode is None:
        with csv_file(path) as handle:
            _write_csv_parts(parts, handle, neutralize_cells)
        return path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)  # the file may have existed with a wider mode
    with os.fdopen(fd, "wb") as handle:  # the file made with ``mode``, never reopened
        _write_csv_parts(parts, handle, neutralize_cells)
    return path


def csv_file(path: str | os.PathLike) -> pa.NativeFile:
    """``path`` opened for a CSV writer: Arrow's own file, so the writer hands Python no
    copy of each batch it formats (1M users' changes.csv: 1.5 GB, ~1 s of CPU less)."""
    return pa.OSFile(str(path), "wb")


def _write_csv_parts(parts: Iterable[pd.DataFrame], handle, neutralize_cells: bool) -> None:
    """Each part through one ``CsvParts``; each chunk written on a thread (Arrow's writer
    runs without the GIL) while the next is built."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        csv = CsvParts(handle, neutralize_cells, thread)
        for part in parts:
            csv.write(part)
        csv.close()


class CsvParts:
    """A CSV written a part at a time (frames with the same columns, in order, at least
    one), for a table made as it is written: under one header, by chunks of CSV_CHUNK_ROWS
    rows as Arrow. pyarrow writes a million rows in a fraction of a second (pandas:
    seconds); it quotes every text value, which any CSV reader takes.

    ``thread`` (an executor) writes each chunk while the caller builds the next; without
    one, ``write`` returns when its part is written. ``close`` ends the file (the header
    alone when no part had rows), not ``handle``."""

    def __init__(self, handle, neutralize_cells: bool = True, thread=None) -> None:
        self._handle, self._neutralize, self._thread = handle, neutralize_cells, thread
        self._writer = self._schema = self._pending = None

    def write(self, part: pd.DataFrame) -> None:
        for start in range(0, max(len(part), 1), CSV_CHUNK_ROWS):
            chunk = _csv_chunk(part.iloc[start : start + CSV_CHUNK_ROWS], self._neutralize)
            self._write_chunk(chunk)

    def _write_chunk(self, table: pa.Table) -> None:
        if self._writer is None and (table.num_rows or self._schema is None):
            # The header, from the first rows (an empty part's types are guesses).
            self._writer = pa_csv.CSVWriter(self._handle, table.schema) if table.num_rows else None
            self._schema = table.schema
        if not table.num_rows:
            return
        table = table if table.schema == self._schema else table.cast(self._schema)
        self._wait()
        if self._thread is None:
            self._writer.write_table(table)
        else:
            self._pending = self._thread.submit(self._writer.write_table, table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        self._wait()
        if self._schema is None:
            raise ValueError("write_csv needs a frame, or at least one part")
        if self._writer is None:  # no rows at all: the header alone
            self._writer = pa_csv.CSVWriter(self._handle, self._schema)
        self._writer.close()
        release_memory()  # ~25 MiB of freed chunks after a long table


def _csv_chunk(frame: pd.DataFrame, neutralize_cells: bool) -> pa.Table:
    """Rows of ``frame`` as an Arrow table, text neutralized (SPEC §7) unless told not to."""
    arrays = []
    for position in range(frame.shape[1]):
        array = _csv_array(frame.iloc[:, position])
        if neutralize_cells and is_text(array.type):
            array = _neutralized(array)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def _csv_array(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as Arrow the way ``Table.from_pandas`` converts it, but object columns
    (mixed values) as text, a CSV cell being text anyway, and categories decoded."""
    if series.dtype == np.dtype(object):
        return text_array(series)
    array = pa.array(series, from_pandas=True)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array


def text_array(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """``series.astype("str")`` as Arrow large_string, without pandas' copy where it can.

    Arrow converts str and None values itself (the usual object column: JSON text and
    blanks); any other value (a number, a date) takes pandas' conversion."""
    if series.dtype == np.dtype(object):
        try:
            return pa.array(series, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            series = series.astype("str")
    elif isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
        series.cat.categories
    ):
        # The readers' source_file: Arrow decodes the categories (pandas' astype makes a
        # Python string per row: results.csv at 1M users, ~1 s).
        return pa.array(series, from_pandas=True).dictionary_decode().cast(pa.large_string())
    array = pa.array(series.astype("str"), from_pandas=True)
    return array if array.type == pa.large_string() else array.cast(pa.large_string())


def _neutralized(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``'`` before each value whose first byte is = + - @ tab or CR (SPEC §7).

    The first byte decides (these are ASCII, never part of a longer UTF-8 character), read
    from the data buffer: no pass over the text unless a chunk holds such a value."""
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([_neutralized(c) for c in array.chunks], type=array.type)
    starts = _formula_starts(array)
    if not starts.any():
        return array
    quote, empty = pa.scalar("'", array.type), pa.scalar("", array.type)
    quoted = pc.binary_join_element_wise(quote, array, empty)
    return pc.if_else(pa.array(starts), quoted, array)


def _formula_starts(array: pa.Array) -> np.ndarray:
    """Which values of a string array start with one of FORMULA_PREFIXES."""
    if len(array) == 0 or array.buffers()[2] is None or array.buffers()[2].size == 0:
        return np.zeros(len(array), dtype=bool)
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=width)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    # Each value's first byte (an empty last value points past the end: clipped, then
    # masked out as empty), looked up in a 256-entry table.
    first = data[np.minimum(offsets[:-1], len(data) - 1)]
    starts = _IS_FORMULA_BYTE[first] & (offsets[1:] > offsets[:-1])
    if array.null_count:
        starts &= array.is_valid().to_numpy(zero_copy_only=False)
    return starts


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    max_rows: int | None = None,
    cap_note: str = DEFAULT_CAP_NOTE,
    uncapped: Collection[str] = (),
) -> Path:
    """Write one sheet per frame: header frozen, autofilter, text as text, numbers as numbers.

    With ``max_rows`` a longer sheet keeps its first ``max_rows`` rows and says so in a
    note below the table (``cap_note`` formatted with ``shown``, ``total`` and ``sheet``);
    sheets named in ``uncapped`` keep every row Excel can hold. A sheet may also be any
    table with ``columns``, ``len`` and ``head(n)`` (a report ChunkedTable): only the rows
    shown are built, one sheet at a time.
    """
    path = Path(path)
    _check_sheet_names(list(sheets))
    limit = EXCEL_MAX_ROWS if max_rows is None else min(max_rows, EXCEL_MAX_ROWS)
    limits = {name: EXCEL_MAX_ROWS if name in uncapped else limit for name in sheets}
    shapes = {name: (min(len(t), limits[name]), len(t.columns)) for name, t in sheets.items()}
    # SpreadsheetML written directly, each sheet built column-wise by arrow string kernels
    # (openpyxl's per-cell objects took ~15 s per 100k rows); one thread compresses a
    # chunk of rows while the next is built.
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL) as book,
        ThreadPoolExecutor(max_workers=1) as compressor,
    ):
        for part, text in _package_parts(shapes).items():  # [Content_Types].xml first
            book.writestr(part, text)
        for number, (name, table) in enumerate(sheets.items(), 1):
            frame = _text_as_str(table.head(limits[name]))
            note = None
            if len(table) > len(frame):
                note = cap_note.format(shown=len(frame), total=len(table), sheet=name)
            part = f"xl/worksheets/sheet{number}.xml"
            estimate = _xml_estimate(frame)
            with book.open(part, "w", force_zip64=_may_pass_2_gib(estimate)) as handle:
                pieces = _sheet_xml(frame, note, _piece_rows(frame, estimate))
                _write_pieces(compressor, handle, pieces)
            del frame, pieces  # before the next sheet's rows are built
            release_memory()  # ~25 MiB of freed chunks after a long table
    return path


# Speed over size: level 1 deflates ~3.5x faster than the default 6 for ~12% more bytes.
_ZIP_LEVEL = 1
_CHUNK_ROWS = 20_000
# A piece of sheet XML (built while the previous one is compressed) is about this size.
_PIECE_BYTES = 4 * 2**20
_MIN_PIECE_ROWS = 500
EXCEL_MAX_CELL_CHARS = 32_767
# Characters XML 1.0 forbids (openpyxl refused the same C0 controls); tab, LF, CR stay.
_XML_FORBIDDEN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
# Bytes worth a closer look: C0 controls but tab and LF, markup, and 0xEF (U+FFFE, U+FFFF).
_PLAIN_BYTES = bytes(b for b in range(256) if b in (9, 10) or (b > 31 and b not in b"&<>\xef"))
_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("\r"): "&#13;"}
_XML_SPACE = (9, 10, 13, 32)
_INVALID_SHEET_NAME = re.compile(r"[\\*?:/\[\]]")
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NULL_TEXT = pa.scalar(None, pa.string())


def _check_sheet_names(names: list[str]) -> None:
    """Excel refuses a workbook whose sheet names break its rules; fail before writing."""
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > 31 or _INVALID_SHEET_NAME.search(name):
            raise ValueError(f"{name!r} is not a valid Excel sheet name")
        if name.casefold() in seen:
            raise ValueError(f"sheet name {name!r} is given twice (Excel ignores case)")
        seen.add(name.casefold())


def _text_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding only text (most report columns) as ``str``, converted once:
    only truly mixed columns then take the per-value path."""
    frame = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if pd.api.types.is_object_dtype(column.dtype) and pd.api.types.infer_dtype(
            column, skipna=True
        ) in ("string", "empty"):
            frame.isetitem(position, column.astype("str"))
    return frame


def _xml_estimate(frame: pd.DataFrame) -> int:
    """An upper estimate of a sheet's XML bytes (text may triple when escaped)."""
    text_chars = sum(
        int(frame.iloc[:, i].astype("str").str.len().sum())
        for i in range(frame.shape[1])
        if not pd.api.types.is_numeric_dtype(frame.dtypes.iloc[i])
    )
    return 3 * text_chars + 64 * frame.size + 32 * len(frame)


def _may_pass_2_gib(estimate: int) -> bool:
    """Whether a sheet's XML could pass zipfile's 2 GiB limit for entries without ZIP64.

    ZIP64 only when needed: Excel offers to repair small files written with it."""
    return estimate > 2**31 - 2**26


def _piece_rows(frame: pd.DataFrame, estimate: int) -> int:
    """Rows per piece of XML: about _PIECE_BYTES each, so wide text keeps memory flat."""
    per_row = max(estimate // max(len(frame), 1), 1)
    return int(min(max(_PIECE_BYTES // per_row, _MIN_PIECE_ROWS), _CHUNK_ROWS))


def _write_pieces(compressor: ThreadPoolExecutor, handle, pieces: Iterator[list]) -> None:
    """Write each piece in order on ``compressor`` while the next one is being built."""
    pending = None
    for piece in pieces:
        if pending is not None:
            pending.result()
        pending = compressor.submit(_write_all, handle, piece)
    if pending is not None:
        pending.result()


def _write_all(handle, buffers: list) -> None:
    for buffer in buffers:
        handle.write(buffer)


def _sheet_xml(frame: pd.DataFrame, note: str | None, rows: int = _CHUNK_ROWS) -> Iterator[list]:
    """The worksheet part in pieces: head and header row, rows by chunk, note and tail."""
    columns = [str(c) for c in frame.columns]
    letters = [_column_letter(i) for i in range(1, len(columns) + 1)] or ["A"]
    last_row = len(frame) + 1 if note is None else len(frame) + 3
    head = _sheet_head(frame, columns, f"A1:{letters[-1]}{last_row}")
    yield [head.encode(), _rows_xml(pd.DataFrame([columns], dtype="str"), letters, 1, ' s="1"')]
    cells = _column_cells(frame, letters)
    for start in range(0, len(frame), rows):
        yield [_rows_of(cells, 2, start, min(rows, len(frame) - start))]
    tail = f'</sheetData><autoFilter ref="A1:{letters[-1]}{len(frame) + 1}"/>{_PAGE_MARGINS}'
    if note is None:
        yield [f"{tail}</worksheet>".encode()]
        return
    # One empty row between the table and the note, as before.
    note_row = _rows_xml(pd.DataFrame([note], dtype="str"), ["A"], last_row)
    yield [note_row, f"{tail}</worksheet>".encode()]


_PAGE_MARGINS = (
    '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
)


def _sheet_head(frame: pd.DataFrame, columns: list[str], dimension: str) -> str:
    """Everything before the first row: the frozen header pane and column widths."""
    widths = "".join(
        f'<col min="{i}" max="{i}" width="{_width(c, frame.iloc[:, i - 1]):g}" customWidth="1"/>'
        for i, c in enumerate(columns, 1)
    )
    return (
        f'{_XML_DECLARATION}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<dimension ref="{dimension}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{_element('cols', widths)}<sheetData>"
    )


def _rows_xml(
    frame: pd.DataFrame, letters: list[str], first_row: int, style: str = ""
) -> memoryview:
    """``<row>`` elements for ``frame``'s rows, numbered from ``first_row``, as UTF-8."""
    return _rows_of(_column_cells(frame, letters, style), first_row, 0, len(frame))


def _rows_of(cells: list[Callable], first_row: int, start: int, count: int) -> memoryview:
    """``<row>`` elements for rows [start, start + count) of prepared columns (see
    ``_column_cells``), the first of them numbered ``first_row``, as UTF-8."""
    numbers = np.arange(first_row + start, first_row + start + count)
    row_numbers = pc.cast(pa.array(numbers), pa.string())
    parts = [pc.fill_null(cell(row_numbers, start), "") for cell in cells]
    rows = pc.binary_join_element_wise('<row r="', row_numbers, '">', *parts, "</row>", "")
    return _joined_bytes(rows)


def _joined_bytes(values: pa.Array) -> memoryview:
    """A string array's values back to back, as they sit in its data buffer (no copy)."""
    if len(values) == 0 or values.buffers()[2] is None:
        return memoryview(b"")
    _, offsets, data = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=width)[[values.offset, values.offset + len(values)]]
    return memoryview(data)[bounds[0] : bounds[1]]


def text_bytes(values: pa.Array | pa.ChunkedArray) -> Iterator[memoryview]:
    """The UTF-8 bytes of a string array (each chunk's values back to back), without a
    copy: a byte search (``re.search``) over them is ~10x faster than a compute kernel."""
    for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        yield _joined_bytes(chunk)


def _column_cells(frame: pd.DataFrame, letters: list[str], style: str = "") -> list[Callable]:
    """Per column of ``frame``, a function of (row numbers, first position) giving the
    ``<c>`` elements of those rows, null where a cell is empty. Each column's values are
    converted once here; the rows of a piece are slices of them."""
    return [
        _cells(frame.iloc[:, i], letter, style)
        for i, letter in enumerate(letters[: frame.shape[1]])
    ]


def _cells(series: pd.Series, letter: str, style: str) -> Callable[[pa.Array, int], pa.Array]:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _typed_cells(_bool_values(series), letter, ' t="b"')
    if pd.api.types.is_datetime64_dtype(dtype):  # naive only: Excel has no time zones
        return _typed_cells(_excel_dates(series), letter, ' s="2"')
    if pd.api.types.is_numeric_dtype(dtype):
        return _typed_cells(_number_values(series), letter, "")
    if pd.api.types.is_object_dtype(dtype):
        return lambda rows, start: _mixed_cells(
            series.iloc[start : start + len(rows)], letter, rows, style
        )
    return _text_cells(series.astype("str"), letter, style)


def _typed_cells(values: pa.Array, letter: str, kind: str) -> Callable[[pa.Array, int], pa.Array]:
    def cells(rows: pa.Array, start: int) -> pa.Array:
        return pc.binary_join_element_wise(
            f'<c r="{letter}', rows, f'"{kind}><v>', values.slice(start, len(rows)), "</v></c>",
            "", null_handling="emit_null",
        )  # fmt: skip

    return cells


def _text_cells(series: pd.Series, letter: str, style: str) -> Callable[[pa.Array, int], pa.Array]:
    """Inline strings: text is never read as a formula or an error code, whatever it says."""
    values, spaced = _xml_text(_plain_array(series, pa.string()))
    opening = None
    if spaced.any():  # Excel trims outer whitespace unless told to keep it
        opening = pc.if_else(pa.array(spaced), '<t xml:space="preserve">', "<t>")

    def cells(rows: pa.Array, start: int) -> pa.Array:
        return pc.binary_join_element_wise(
            f'<c r="{letter}', rows, f'"{style} t="inlineStr"><is>',
            "<t>" if opening is None else opening.slice(start, len(rows)),
            values.slice(start, len(rows)), "</t></is></c>", "",
            null_handling="emit_null",
        )  # fmt: skip

    return cells


def _plain_array(series: pd.Series, kind: pa.DataType) -> pa.Array:
    values = pa.array(series, type=kind, from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _xml_text(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Text as XML character data, and which values start or end with whitespace.

    Forbidden characters are dropped, Excel's cell length kept, markup escaped; empty text
    is an empty cell (as openpyxl wrote it). Each step runs only when a value needs it:
    one scan of the bytes tells which."""
    special = set(_special_bytes(values))
    if special - _ESCAPES.keys():
        values = pc.replace_substring_regex(values, _XML_FORBIDDEN, "")
    if pc.any(pc.equal(values, "")).as_py():
        values = pc.if_else(pc.equal(values, ""), _NULL_TEXT, values)
    if (pc.max(pc.utf8_length(values)).as_py() or 0) > EXCEL_MAX_CELL_CHARS:
        values = pc.utf8_slice_codeunits(values, 0, EXCEL_MAX_CELL_CHARS)
    spaced = _outer_whitespace(values)
    # A bare CR would be read back as LF (XML end-of-line handling): it becomes a reference.
    for byte, reference in _ESCAPES.items():  # "&" first: the others add one
        if byte in special:
            values = pc.replace_substring(values, chr(byte), reference)
    return values, spaced


def _special_bytes(values: pa.Array) -> bytes:
    """The bytes of ``values`` that may need work (a slice reads only its own bytes),
    copied a MiB at a time (``translate`` wants bytes) rather than the whole column."""
    data = _joined_bytes(values)
    step = 2**20
    return b"".join(
        bytes(data[start : start + step]).translate(None, _PLAIN_BYTES)
        for start in range(0, len(data), step)
    )


def _outer_whitespace(values: pa.Array) -> np.ndarray:
    """Values whose first or last byte is XML whitespace (space, tab, LF, CR)."""
    if values.buffers()[2] is None:
        return np.zeros(len(values), dtype=bool)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    first = np.isin(data[starts[filled]], _XML_SPACE)
    last = np.isin(data[ends[filled] - 1], _XML_SPACE)
    spaced = np.zeros(len(values), dtype=bool)
    spaced[filled] = first | last
    return spaced


def _number_values(series: pd.Series) -> pa.Array:
    """Finite numbers in their shortest round-trip form; NaN, NA and inf are empty cells."""
    if pd.api.types.is_integer_dtype(series.dtype):
        return pc.cast(_plain_array(series, None), pa.string())
    values = pa.array(series.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True)
    return pc.cast(pc.if_else(pc.is_finite(values), values, None), pa.string())


def _excel_dates(series: pd.Series) -> pa.Array:
    """Dates as Excel serial numbers (days since 1899-12-30), shown with style 2's format."""
    days = (series - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
    return _number_values(days)


def _bool_values(series: pd.Series) -> pa.Array:
    return pc.if_else(_plain_array(series, pa.bool_()), "1", "0")


def _mixed_cells(series: pd.Series, letter: str, row_numbers: pa.Array, style: str) -> pa.Array:
    """An object column keeps each value's own kind: numbers as numbers, text as text.

    Such columns are small (the summary sheet), so one Python call per value is fine."""
    kinds = series.map(_kind_of).to_numpy()
    parts = [
        _cells(series.where(kinds == "bool").astype("boolean"), letter, style),
        _cells(series.where(kinds == "number").astype("float64"), letter, style),
        _text_cells(
            series.where(kinds == "text").map(str, na_action="ignore").astype("str"), letter, style
        ),
    ]
    return pc.coalesce(*[cells(row_numbers, 0) for cells in parts])


def _kind_of(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "empty"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, Real):
        return "empty" if value != value else "number"
    return "text"


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _width(header: str, values: pd.Series) -> float:
    sample = values.iloc[:200].dropna().astype(str)
    longest = max([len(header), *sample.str.len().tolist()], default=len(header))
    return min(max(longest + 2, 8), _MAX_WIDTH)


def _package_parts(shapes: Mapping[str, tuple[int, int]]) -> dict[str, str]:
    """The package parts around the sheets: content types, relationships, workbook, styles.

    ``shapes`` gives each sheet's (rows shown, columns)."""
    count = len(shapes)
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT}worksheet+xml"/>'
        for n in range(1, count + 1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    return {
        "[Content_Types].xml": _XML_DECLARATION
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
        '.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}styles+xml"/>'
        f"{sheet_types}</Types>",
        "_rels/.rels": f'{_XML_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": _workbook_xml(shapes),
        "xl/_rels/workbook.xml.rels": f'{_XML_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}">'
        f'{sheet_rels}<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" '
        'Target="styles.xml"/></Relationships>',
        "xl/styles.xml": _STYLES,
    }


def _workbook_xml(shapes: Mapping[str, tuple[int, int]]) -> str:
    entries, filters = [], []
    for n, (name, (rows, columns)) in enumerate(shapes.items(), 1):
        entries.append(f'<sheet name="{_attribute(name)}" sheetId="{n}" r:id="rId{n}"/>')
        last = _column_letter(max(columns, 1))
        quoted = name.replace("'", "''")
        # Excel keeps each autofilter's range in this hidden name as well.
        reference = _xml_escape(f"'{quoted}'!$A$1:${last}${rows + 1}")
        filters.append(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n - 1}" hidden="1">'
            f"{reference}</definedName>"
        )
    return (
        f'{_XML_DECLARATION}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{''.join(entries)}</sheets>"
        f"{_element('definedNames', ''.join(filters))}"
        "</workbook>"
    )


def _element(tag: str, content: str) -> str:
    """``<tag>content</tag>``, or nothing when empty (the schema wants at least one child)."""
    return f"<{tag}>{content}</{tag}>" if content else ""


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    return _xml_escape(text).replace('"', "&quot;")


# Cell formats: 0 plain, 1 bold (the header row), 2 date and time (as openpyxl wrote them).
_STYLES = (
    f'{_XML_DECLARATION}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd h:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
