"""JSON objects built column-wise with Arrow compute, so a million changes need no per-row
``json.dumps``.

An object is a run of pieces: constant glue (``{"name": "``, ``", "name": null``, ``"}``…)
and the escaped values. All pieces sit in one Arrow array and one ``take`` lays them out
row after row; each object is then a slice of that buffer, so the objects cost one copy of
their bytes. Without ``include`` and missing values, one element-wise join does it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, take, text_array, text_chunks

_TEXT = pa.large_string()
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_CHUNK = 16_384  # rows per take: keeps the pieces and their index a few MB
# What precedes a field's glue: the object's start, a value (its closing quote), a null.
_AFTER_START, _AFTER_VALUE, _AFTER_NULL = 0, 1, 2
_LEAD = ("{", '", ', ", ")
_END = ("{}", '"}', "}")


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, type=_TEXT)


_BLOCK = 1 << 22  # bytes scanned at a time: temporaries of a few MB, not of the column


def _needs_escape(array: pa.Array) -> bool:
    """Whether any value holds ``"``, ``\\`` or a control character: one numpy pass over
    the UTF-8 bytes (those code points are single bytes below 0x80 there), ~20× cheaper
    than a regex per value. Bytes under null slots may say yes too; escaping is then a no-op."""
    if len(array) == 0 or array.buffers()[2] is None:
        return False
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    for at in range(start, end, _BLOCK):
        block = data[at : min(end, at + _BLOCK)]
        if ((block < 0x20) | (block == 0x22) | (block == 0x5C)).any():
            return True
    return False


def _escaped(array: pa.Array) -> pa.Array:
    # Escaping is rare in names and addresses: one scan decides whether to do it at all.
    if not _needs_escape(array):
        return array
    for old, new in _ESCAPES:
        array = pc.replace_substring(array, old, new)
    return pc.replace_substring_regex(array, _CONTROL, "")


def json_arrays(names, values, include=None) -> pa.Array | pa.ChunkedArray:
    """One JSON object per row over the fields ``names`` with Arrow arrays ``values``.

    ``include`` (one numpy bool array per field) leaves a field out where False: an update
    lists only the fields it changes. Missing values are written as null.
    """
    values = [_escaped(text_array(v)) for v in values]
    rows = len(values[0]) if values else 0
    if include is None and values and not any(v.null_count for v in values):
        return _joined(names, values)
    return _laid_out(names, values, include, rows)


def _joined(names, values) -> pa.Array:
    """Every field present and set: ``{"a": "`` a ``", "b": "`` b ``"}`` in one join."""
    parts: list = []
    for i, (name, array) in enumerate(zip(names, values, strict=True)):
        parts += [_scalar(("{" if i == 0 else '", ') + json.dumps(name) + ': "'), array]
    return pc.binary_join_element_wise(*parts, _scalar('"}'), _scalar(""))


def _glue(names) -> tuple[pa.Array, int]:
    """Glue pieces: index ``(after * fields + field) * 2 + is_null``, then the three ends."""
    glue = [
        lead + json.dumps(name) + (": null" if null else ': "')
        for lead in _LEAD
        for name in names
        for null in (False, True)
    ]
    return pa.array(glue + list(_END), type=_TEXT), len(glue)


def _laid_out(names, values, include, rows: int) -> pa.ChunkedArray | pa.Array:
    """Objects in chunks of rows: each chunk's pieces are laid out by one ``take``."""
    table, end = _glue(names)
    null = [~v.is_valid().to_numpy(zero_copy_only=False) for v in values]
    chunks = []
    for lo in range(0, rows, _CHUNK):
        hi = min(rows, lo + _CHUNK)
        keep = None if include is None else [k[lo:hi] for k in include]
        chunk = _chunk(table, end, [v[lo:hi] for v in values], [n[lo:hi] for n in null], keep)
        chunks.append(chunk)
    # Chunks, not one array: pandas holds them as they are, combining would copy them all.
    return pa.chunked_array(chunks, type=_TEXT) if chunks else table[:0]


def _chunk(table: pa.Array, end: int, values, null, include) -> pa.Array:
    fields, rows = len(values), len(null[0]) if null else 0
    pieces = pa.concat_arrays([table, *values])
    start = np.cumsum([len(table)] + [rows] * fields)[:-1]  # where field f's values begin
    dtype = np.int32 if len(pieces) < 2**31 else np.int64
    row = np.arange(rows, dtype=dtype)
    # Slot 2f: field f's glue, 2f+1: its value, last: the end; -1 leaves a slot out.
    slots = np.full((rows, 2 * fields + 1), -1, dtype=dtype)
    after = np.zeros(rows, dtype=dtype)  # _AFTER_START
    for f in range(fields):
        keep = None if include is None else include[f]
        if keep is not None and not keep.any():
            continue  # an update that changes no row's field f here
        missing = null[f]
        glue = after * (2 * fields) + (2 * f) + missing
        value = np.where(missing, -1, row + start[f])
        state = np.where(missing, _AFTER_NULL, _AFTER_VALUE)
        if keep is not None:
            glue, value = np.where(keep, glue, -1), np.where(keep, value, -1)
            state = np.where(keep, state, after)
        slots[:, 2 * f], slots[:, 2 * f + 1], after = glue, value, state
    slots[:, 2 * fields] = end + after
    used = slots >= 0
    laid = pc.take(pieces, pa.array(slots[used]))
    # Row r's object is pieces first[r] .. first[r+1] of the laid-out array.
    first = np.concatenate([[0], np.cumsum(used.sum(axis=1))])
    offsets = np.frombuffer(laid.buffers()[1], dtype=np.int64)[laid.offset + first]
    return pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), laid.buffers()[2])


def json_objects(frame: pd.DataFrame, columns, include: pd.DataFrame | None = None) -> pd.Series:
    """One JSON object per row of ``frame`` over ``columns``.

    ``include`` (booleans, same shape) leaves a field out where False: an update lists only
    the fields it changes.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    columns = list(columns)
    if not columns:
        return pd.Series("{}", index=frame.index, dtype="str")
    keep = None if include is None else [include[c].to_numpy(dtype=bool) for c in columns]
    return as_series(json_arrays(columns, [frame[c] for c in columns], keep), frame.index)


@dataclass(frozen=True)
class LazyJson:
    """JSON objects over ``names`` made when they are written, not when planned: a field is
    left out where its value is missing (as a create_user's ``after``), or with
    ``omit_missing=False`` written as null.

    ``values`` are the planned table's own columns (Arrow arrays, or ``str`` Series), read
    at ``rows`` (positions; None: every row in order). An inserted row's JSON repeats the
    row: holding the text of every one cost ~0.8 GB at 1M users."""

    names: tuple[str, ...]
    values: tuple
    rows: np.ndarray | None = None
    omit_missing: bool = True

    def __len__(self) -> int:
        return len(self.values[0]) if self.rows is None else len(self.rows)

    def subset(self, mask: np.ndarray) -> LazyJson:
        rows = np.flatnonzero(mask) if self.rows is None else self.rows[mask]
        return LazyJson(self.names, self.values, rows, self.omit_missing)

    def render(self, start: int = 0, stop: int | None = None) -> pa.Array:
        """The objects of rows ``start:stop``, as one large_string array."""
        stop = len(self) if stop is None else stop
        if self.rows is None:
            cells = [_column(v).slice(start, stop - start) for v in self.values]
        else:
            cells = [take(_column(v), self.rows[start:stop]) for v in self.values]
        cells = [text_array(c) for c in cells]
        include = None
        if self.omit_missing:
            include = [c.is_valid().to_numpy(zero_copy_only=False) for c in cells]
        return text_array(json_arrays(list(self.names), cells, include))


def _column(values) -> pa.Array | pa.ChunkedArray:
    """A column as Arrow without combining its chunks (a take or slice reads them as they are)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.chunked_array(text_chunks(values), type=pa.large_string())
