"""JSON objects built column-wise with Arrow compute, so a million changes need no per-row
``json.dumps``: each column becomes ``"name": "value"`` fragments, and one element-wise
join per object skips the fields an update leaves out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_TEXT = pa.large_string()
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, type=_TEXT)


def _text(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str"), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(_TEXT)


def _needs_escape(array: pa.Array) -> bool:
    """Whether any value holds ``"``, ``\\`` or a control character: one numpy pass over
    the UTF-8 bytes (those code points are single bytes below 0x80 there), ~20× cheaper
    than a regex per value. Bytes under null slots may say yes too; escaping is then a no-op."""
    if len(array) == 0 or array.buffers()[2] is None:
        return False
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[start:end]
    return bool(((data < 0x20) | (data == 0x22) | (data == 0x5C)).any())


def _escaped(array: pa.Array) -> pa.Array:
    # Escaping is rare in names and addresses: one scan decides whether to do it at all.
    if not _needs_escape(array):
        return array
    for old, new in _ESCAPES:
        array = pc.replace_substring(array, old, new)
    return pc.replace_substring_regex(array, _CONTROL, "")


def _fragments(name: str, values: pd.Series) -> pa.Array:
    """``"name": "value", `` per row, ``"name": null, `` where missing."""
    key = json.dumps(name)
    quoted = pc.binary_join_element_wise(
        _scalar(key + ': "'), _escaped(_text(values)), _scalar('", '), _scalar("")
    )
    return pc.fill_null(quoted, _scalar(key + ": null, "))


def _braced(joined: pa.Array) -> pa.Array:
    """``{`` + each value without its last ``, `` + ``}``.

    That keeps every value's length, so one shifted copy of the bytes does it, reusing the
    offsets (Arrow would slice UTF-8-aware and copy again for the braces). Empty values
    (an object with no field) take Arrow's way."""
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[: len(joined) + 1]
    if joined.offset or joined.null_count or offsets[0] or (np.diff(offsets) < 2).any():
        body = pc.utf8_slice_codeunits(joined, 0, -2)
        return pc.binary_join_element_wise(_scalar("{"), body, _scalar("}"), _scalar(""))
    data = np.frombuffer(joined.buffers()[2], dtype=np.uint8)[: offsets[-1]]
    out = np.empty_like(data)
    out[1:] = data[:-1]
    out[offsets[:-1]] = ord("{")
    out[offsets[1:] - 1] = ord("}")
    return pa.LargeStringArray.from_buffers(len(joined), joined.buffers()[1], pa.py_buffer(out))


def json_objects(frame: pd.DataFrame, columns, include: pd.DataFrame | None = None) -> pd.Series:
    """One JSON object per row of ``frame`` over ``columns``.

    ``include`` (booleans, same shape) leaves a field out where False: an update lists only
    the fields it changes.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    parts = []
    for column in columns:
        fragment = _fragments(column, frame[column])
        if include is not None:
            keep = pa.array(include[column].to_numpy(dtype=bool))
            fragment = pc.if_else(keep, fragment, _scalar(""))
        parts.append(fragment)
    # Every fragment ends with ", "; the last one's gives way to the closing brace.
    out = _braced(pc.binary_join_element_wise(*parts, _scalar("")))
    series = out.to_pandas().astype("str")
    series.index = frame.index
    return series
