"""Table writes from current → planned state: rows to delete by key, rows to insert.

Rows are compared whole, so one generic diff serves every table.
"""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin
from userbatch.state.model import TABLES, State


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    """Each row as one text value (fields joined by a separator no cell holds)."""
    if frame.empty:
        return pd.Series([], dtype="str")
    columns = [frame[c].astype("str").fillna("\x00") for c in frame.columns]
    joined = columns[0]
    for column in columns[1:]:
        joined = joined + "\x1f" + column
    return joined


def table_writes(current: State, planned: State) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{table: (rows to delete, rows to insert)}`` for the tables that differ.

    Rows are compared whole; deleted rows are whole too (the store deletes by their key;
    history keeps them for revert). Tables the plan did not replace are skipped.
    """
    writes = {}
    for name, (columns, _key) in TABLES.items():
        if planned.tables[name] is current.tables[name]:
            continue
        old = current.tables[name][list(columns)]
        new = planned.tables[name][list(columns)]
        old_rows, new_rows = _row_keys(old), _row_keys(new)
        gone = old[~isin(old_rows, new_rows).to_numpy()]
        added = new[~isin(new_rows, old_rows).to_numpy()]
        if len(gone) or len(added):
            # A changed row is deleted by its old key and inserted anew.
            writes[name] = (gone.reset_index(drop=True), added.reset_index(drop=True))
    return writes
