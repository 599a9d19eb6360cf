"""Table writes from current → planned state: rows to delete by key, rows to insert.

Rows are compared whole, so one generic diff serves every table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin
from userbatch.state.model import TABLES, State

_MISSING = "\x00"  # stands for a missing cell in joined keys; no cell holds it
_SEPARATOR = "\x1f"


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    """Each row as one text value (fields joined by a separator no cell holds)."""
    if frame.empty:
        return pd.Series([], dtype="str")
    columns = [frame[c].astype("str").fillna(_MISSING) for c in frame.columns]
    joined = columns[0]
    for column in columns[1:]:
        joined = joined + _SEPARATOR + column
    return joined


def _arrow(values: pd.Series) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _key_array(frame: pd.DataFrame, key) -> pa.Array:
    """The key columns of each row as one Arrow text value."""
    text = pa.large_string()
    parts = [pc.fill_null(_arrow(frame[c].astype("str")).cast(text), _MISSING) for c in key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, pa.scalar(_SEPARATOR, type=text))


def _same_cells(old: pa.Array, new: pa.Array) -> np.ndarray:
    """Element-wise equality where two missing cells are equal too."""
    if old.type != new.type:
        old, new = old.cast(pa.large_string()), new.cast(pa.large_string())
    equal = pc.equal(old, new)
    both_missing = pc.and_(pc.is_null(old), pc.is_null(new))
    return pc.fill_null(pc.or_kleene(equal, both_missing), False).to_numpy(zero_copy_only=False)


def _changed_by_key(old: pd.DataFrame, new: pd.DataFrame, key) -> tuple[np.ndarray, np.ndarray]:
    """(old rows gone, new rows added) as masks, pairing rows by key and comparing the
    pairs column by column: the same answer as comparing whole rows when keys are unique
    (the store's primary key), without building a text of every row."""
    old_keys, new_keys = _key_array(old, key), _key_array(new, key)
    position = pc.index_in(new_keys, value_set=old_keys).to_numpy(zero_copy_only=False)
    matched = ~np.isnan(position)
    pairs = position[matched].astype("int64")
    same = np.ones(len(pairs), dtype=bool)
    taken = pa.array(pairs)
    for column in new.columns:
        if not same.any():
            break
        old_cells = _arrow(old[column]).take(taken)
        new_cells = _arrow(new[column]).filter(pa.array(matched))
        same &= _same_cells(old_cells, new_cells)
    added = np.ones(len(new), dtype=bool)
    added[np.flatnonzero(matched)[same]] = False
    gone = np.ones(len(old), dtype=bool)
    gone[pairs[same]] = False
    return gone, added


def _changed_rows(old: pd.DataFrame, new: pd.DataFrame, key) -> tuple[np.ndarray, np.ndarray]:
    if old.empty or new.empty:
        return np.ones(len(old), dtype=bool), np.ones(len(new), dtype=bool)
    if pc.count_distinct(_key_array(old, key)).as_py() == len(old):
        return _changed_by_key(old, new, key)
    # Repeated keys (not from a store): compare whole rows as text.
    old_rows, new_rows = _row_keys(old), _row_keys(new)
    return ~isin(old_rows, new_rows).to_numpy(), ~isin(new_rows, old_rows).to_numpy()


def table_writes(current: State, planned: State) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{table: (rows to delete, rows to insert)}`` for the tables that differ.

    Rows are compared whole; deleted rows are whole too (the store deletes by their key;
    history keeps them for revert). Tables the plan did not replace are skipped.
    ``planned``'s tables are rebuilt as (kept rows, inserted rows) sharing the inserted
    rows' memory with the writes: at 1M users most planned rows are inserts, and a second
    copy of them would cost ~0.8 GiB.
    """
    writes = {}
    for name, (columns, key) in TABLES.items():
        if planned.tables[name] is current.tables[name]:
            continue
        old = current.tables[name][list(columns)]
        new = planned.tables[name][list(columns)]
        gone_mask, added_mask = _changed_rows(old, new, key)
        gone, added = old[gone_mask], new[added_mask].reset_index(drop=True)
        if len(gone) or len(added):
            # A changed row is deleted by its old key and inserted anew.
            writes[name] = (gone.reset_index(drop=True), added)
            if 0 < len(added) < len(new):  # Arrow columns concatenate without a copy
                kept = new[~added_mask]
                planned.tables[name] = pd.concat([kept, added], ignore_index=True)
    return writes
