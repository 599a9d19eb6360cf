"""Table writes from current → planned state: rows to delete by key, rows to insert.

Rows are compared whole (a hash per row), so one generic diff serves every table.
"""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin
from userbatch.state.model import TABLES, State


def _row_hashes(frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype="uint64")
    return pd.util.hash_pandas_object(frame.astype(object).where(frame.notna(), None), index=False)


def table_writes(current: State, planned: State) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{table: (rows to delete, rows to insert)}`` for the tables that differ.

    Deleted rows are whole (the store deletes by their key; history keeps them for revert).
    """
    writes = {}
    for name, (columns, _key) in TABLES.items():
        old = current.tables[name][list(columns)]
        new = planned.tables[name][list(columns)]
        old_hash, new_hash = _row_hashes(old), _row_hashes(new)
        gone = old[~isin(old_hash, new_hash).to_numpy()]
        added = new[~isin(new_hash, old_hash).to_numpy()]
        if len(gone) or len(added):
            # A changed row is deleted by its old key and inserted anew.
            writes[name] = (gone.reset_index(drop=True), added.reset_index(drop=True))
    return writes
