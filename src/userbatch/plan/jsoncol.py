"""JSON objects built column-wise, so a million changes need no per-row json.dumps."""

from __future__ import annotations

import json

import pandas as pd

_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_SPECIAL = r'["\\\x00-\x1f]'


def quote(values: pd.Series) -> pd.Series:
    """Each value as a JSON string literal; missing as ``null``."""
    text = values.astype("str")
    # Escaping is rare in names and addresses: one scan finds the cells that need it.
    special = text.str.contains(_SPECIAL, regex=True, na=False)
    if special.any():
        text = text.copy()
        text[special] = _escape(text[special])
    return ('"' + text + '"').fillna("null")


def _escape(text: pd.Series) -> pd.Series:
    return (
        text.str.replace("\\", "\\\\", regex=False)
        .str.replace('"', '\\"', regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
        .str.replace("\t", "\\t", regex=False)
        .str.replace(_CONTROL, "", regex=True)
    )


def json_objects(frame: pd.DataFrame, columns, include: pd.DataFrame | None = None) -> pd.Series:
    """One JSON object per row of ``frame`` over ``columns``.

    ``include`` (booleans, same shape) leaves a field out where False: an update lists only
    the fields it changes.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    body = pd.Series("", index=frame.index, dtype="str")
    for column in columns:
        fragment = json.dumps(column) + ": " + quote(frame[column]) + ", "
        if include is not None:
            fragment = fragment.where(include[column].to_numpy(), "")
        body = body + fragment
    return "{" + body.str.slice(0, -2) + "}"
