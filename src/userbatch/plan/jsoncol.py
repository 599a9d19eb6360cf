"""JSON objects built column-wise with Arrow compute, so a million changes need no per-row
``json.dumps``: each column becomes ``"name": "value"`` fragments, and one element-wise
join per object skips the fields an update leaves out."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_TEXT = pa.large_string()
_SPECIAL = r'["\\\x00-\x1f]'
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, type=_TEXT)


def _text(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str"), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(_TEXT)


def _escaped(array: pa.Array) -> pa.Array:
    # Escaping is rare in names and addresses: one scan decides whether to do it at all.
    if not pc.any(pc.match_substring_regex(array, _SPECIAL)).as_py():
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


def quote(values: pd.Series) -> pd.Series:
    """Each value as a JSON string literal; missing as ``null``."""
    quoted = pc.binary_join_element_wise(
        _scalar('"'), _escaped(_text(values)), _scalar('"'), _scalar("")
    )
    out = pc.fill_null(quoted, _scalar("null")).to_pandas().astype("str")
    out.index = values.index
    return out


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
    # Every fragment ends with ", "; the last one's is cut before the closing brace.
    body = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*parts, _scalar("")), 0, -2)
    out = pc.binary_join_element_wise(_scalar("{"), body, _scalar("}"), _scalar(""))
    series = out.to_pandas().astype("str")
    series.index = frame.index
    return series
