"""Writing tables to CSV and XLSX so that no value ever becomes a formula (SPEC §7).

CSV report cells that a spreadsheet would run as a formula get a leading ``'``, which
the readers drop again (SPEC §2). In XLSX every text cell is written as text, so no
neutralization is needed there. Files meant for Microsoft's tools (credentials, R1) are
written unaltered with ``neutralize_cells=False``.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# A text cell starting with one of these is run as a formula by spreadsheet software.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"

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


def _neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        out.isetitem(position, neutralize(frame.iloc[:, position]))
    return out


def _holds_text(series: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return True
    if series.dtype != object:
        return False
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "mixed", "mixed-integer")


def write_csv(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    neutralize_cells: bool = True,
    mode: int | None = None,
) -> Path:
    """Write ``frame`` as UTF-8 CSV (no BOM, no index, ``\n`` line ends, text quoted).

    ``mode`` (e.g. ``0o600`` for credentials.csv, R1) creates the file with that mode
    from the start, so a secret is never readable by others, not even for a moment.
    """
    path = Path(path)
    if neutralize_cells:
        frame = _neutralize_frame(frame)
    # pyarrow writes a million rows in a fraction of a second (pandas: seconds); it
    # quotes every text value, which any CSV reader takes.
    table = pa.Table.from_pandas(_arrow_ready(frame), preserve_index=False)
    if mode is None:
        pa_csv.write_csv(table, path)
        return path
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)  # the file may have existed with a wider mode
    with os.fdopen(fd, "wb") as handle:
        pa_csv.write_csv(table, handle)
    return path


def _arrow_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns (mixed values) as text: a CSV cell is text anyway."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    for position in range(frame.shape[1]):
        if frame.dtypes.iloc[position] == np.dtype(object):
            frame.isetitem(position, frame.iloc[:, position].astype("str"))
    return frame


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
    sheets named in ``uncapped`` keep every row Excel can hold.
    """
    path = Path(path)
    book = Workbook(write_only=True)
    limit = EXCEL_MAX_ROWS if max_rows is None else min(max_rows, EXCEL_MAX_ROWS)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name)
        shown = frame.iloc[: EXCEL_MAX_ROWS if name in uncapped else limit]
        note = None
        if len(frame) > len(shown):
            note = cap_note.format(shown=len(shown), total=len(frame), sheet=name)
        _write_sheet(sheet, shown, note)
    book.save(path)
    return path


def _write_sheet(sheet, frame: pd.DataFrame, note: str | None) -> None:
    columns = [str(c) for c in frame.columns]
    width = max(len(columns), 1)
    last_column = get_column_letter(width)
    # Set before the first row: write-only sheets write their view and columns first.
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last_column}{len(frame) + 1}"
    for index, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(
            column, frame.iloc[:, index - 1]
        )
    sheet.append([_header_cell(sheet, column) for column in columns])
    for row in _rows(sheet, frame):
        sheet.append(row)
    if note:
        sheet.append([])
        sheet.append([_text_cell(sheet, note)])


def _header_cell(sheet, text: str) -> WriteOnlyCell:
    cell = _text_cell(sheet, text)
    cell.font = Font(bold=True)
    return cell


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    """A cell that holds ``text`` as a string whatever it looks like (never a formula)."""
    cell = WriteOnlyCell(sheet, value=None)
    cell._value = _clean_text(text)
    cell.data_type = "s"
    return cell


def _clean_text(text: str) -> str:
    # openpyxl refuses control characters and cells over 32,767 characters.
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32767]


def _rows(sheet, frame: pd.DataFrame):
    """Rows as lists of plain values; text that openpyxl would read as a formula or an
    error code (a str starting with "=", "#N/A", …) is wrapped in a text cell."""
    columns = [_column_values(sheet, frame.iloc[:, i]) for i in range(frame.shape[1])]
    return (list(values) for values in zip(*columns, strict=True))


def _column_values(sheet, series: pd.Series) -> list:
    present = series.notna()
    if not _holds_text(series):
        values = series.astype(object).where(present, None)
        return values.tolist()
    text = series.astype(object).where(present, None)
    as_str = series.astype("str")
    dirty = as_str.str.contains(ILLEGAL_CHARACTERS_RE.pattern, regex=True, na=False)
    if dirty.any():
        text[dirty] = as_str[dirty].str.replace(ILLEGAL_CHARACTERS_RE.pattern, "", regex=True)
    forced = present & (as_str.str.startswith("=", na=False) | as_str.isin(ERROR_CODES))
    values = text.tolist()
    for position in forced.to_numpy().nonzero()[0]:
        values[position] = _text_cell(sheet, values[position])
    return values


def _width(header: str, values: pd.Series) -> float:
    sample = values.iloc[:200].dropna().astype(str)
    longest = max([len(header), *sample.str.len().tolist()], default=len(header))
    return min(max(longest + 2, 8), _MAX_WIDTH)
