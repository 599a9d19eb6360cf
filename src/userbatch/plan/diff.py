"""Table writes from current → planned state: rows to delete by key, rows to insert.

Rows are compared whole, so one generic diff serves every table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin, release_memory
from userbatch.plan.concurrent import each
from userbatch.state.model import TABLES, State

RELEASE_ROWS = 100_000  # a table this large hands its compared cells back before the next one
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


def _chunks(values: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow chunks, without combining them (planned tables are often
    kept rows + added rows in separate chunks)."""
    array = pa.array(values, from_pandas=True)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _key_codes(old: pd.DataFrame, new: pd.DataFrame, key) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row standing for its key columns (missing equal to missing), the
    same for equal keys in ``old`` and ``new``: one hash pass per key column over both."""
    combined = None
    for column in key:
        both = pa.chunked_array(
            _chunks(old[column].astype("str")).chunks + _chunks(new[column].astype("str")).chunks
        )
        encoded = pc.dictionary_encode(both, null_encoding="encode").combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        if combined is None:
            combined = codes
        else:  # pair the codes, then number the pairs densely so the next pairing fits
            combined = pd.factorize(combined * len(encoded.dictionary) + codes)[0]
    return combined[: len(old)], combined[len(old) :]


def _same_cells(old: pa.ChunkedArray, new: pa.ChunkedArray) -> np.ndarray:
    """Element-wise equality where two missing cells are equal too."""
    if old.type != new.type:
        old, new = old.cast(pa.large_string()), new.cast(pa.large_string())
    equal = pc.equal(old, new)
    both_missing = pc.and_(pc.is_null(old), pc.is_null(new))
    return pc.fill_null(pc.or_kleene(equal, both_missing), False).to_numpy(zero_copy_only=False)


def _same_place(old: pd.DataFrame, new: pd.DataFrame, key) -> np.ndarray:
    """Which of the first rows hold the same key at the same place in both tables: the
    planners keep the current rows first and in order, so most pairs need no hashing."""
    n = min(len(old), len(new))
    same = np.ones(n, dtype=bool)
    for column in key:
        equal = pc.equal(_chunks(old[column]).slice(0, n), _chunks(new[column]).slice(0, n))
        same &= pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
    return same


def _positions(old: pd.DataFrame, new: pd.DataFrame, key) -> np.ndarray | None:
    """For each new row, the old row with its key (-1: none); None when the old rows left
    after the direct pairs repeat a key. Rows in the same place pair directly (keys are
    unique in a store's tables: its primary key); the rest are matched by key codes.
    The planners never repeat a key in a planned table (the store's primary key would
    refuse it, and the apply's one transaction would write nothing); checking it here
    would hash every table again (~2 s at a million users)."""
    same = _same_place(old, new, key)
    position = np.full(len(new), -1, dtype=np.int64)
    position[np.flatnonzero(same)] = np.flatnonzero(same)
    old_rest = np.flatnonzero(np.concatenate([~same, np.ones(len(old) - len(same), bool)]))
    new_rest = np.flatnonzero(np.concatenate([~same, np.ones(len(new) - len(same), bool)]))
    if len(old_rest) == 0 or len(new_rest) == 0:
        return position
    keys = list(key)
    old_codes, new_codes = _key_codes(old[keys].iloc[old_rest], new[keys].iloc[new_rest], key)
    if np.bincount(old_codes).max() > 1:
        return None
    row_of_code = np.full(max(old_codes.max(), new_codes.max()) + 1, -1, dtype=np.int64)
    row_of_code[old_codes] = old_rest
    position[new_rest] = row_of_code[new_codes]
    return position


def _changed_rows(old: pd.DataFrame, new: pd.DataFrame, key) -> tuple[np.ndarray, np.ndarray]:
    """(old rows gone, new rows added) as masks, pairing rows by key and comparing the
    pairs column by column: the same answer as comparing whole rows when keys are unique
    (the store's primary key), without building a text of every row."""
    if old.empty or new.empty:
        return np.ones(len(old), dtype=bool), np.ones(len(new), dtype=bool)
    position = _positions(old, new, key)
    if position is None:  # repeated keys (not from a store): compare whole rows as text
        old_rows, new_rows = _row_keys(old), _row_keys(new)
        return ~isin(old_rows, new_rows).to_numpy(), ~isin(new_rows, old_rows).to_numpy()
    matched = position >= 0
    pairs = position[matched]
    taken, kept = pa.array(pairs), pa.array(matched)

    def column_same(column: str) -> np.ndarray:
        old_cells = _chunks(old[column]).take(taken)
        return _same_cells(old_cells, _chunks(new[column]).filter(kept))

    # Column by column, two at a time (Arrow's take and compare let go of the GIL).
    same = np.logical_and.reduce([np.ones(len(pairs), bool), *each(column_same, new.columns)])
    added = np.ones(len(new), dtype=bool)
    added[np.flatnonzero(matched)[same]] = False
    gone = np.ones(len(old), dtype=bool)
    gone[pairs[same]] = False
    return gone, added


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``frame[mask]`` with a fresh index, where every chunk the mask takes whole, and the
    run of rows it takes at a chunk's end, are shared, not copied: the inserted rows of a
    planned table are mostly its new rows, after the current ones."""
    if mask.all():
        return frame.reset_index(drop=True)
    kept = each(lambda column: _kept(frame[column], mask), frame.columns)
    return pd.DataFrame(dict(zip(frame.columns, kept, strict=True)))


def _kept(values: pd.Series, mask: np.ndarray) -> pd.Series:
    """One column of ``_rows``."""
    if not isinstance(values.array, pd.arrays.ArrowStringArray):
        return values[mask].reset_index(drop=True)
    parts, start = [], 0
    for chunk in _chunks(values).chunks:
        piece = mask[start : start + len(chunk)]
        start += len(chunk)
        if piece.all():
            parts.append(chunk)
        elif piece.any():
            # New rows often close a chunk (environment users: 0.78M of 1.2M at 1M
            # users): that run is a slice of it, the rest is filtered.
            head = int(np.flatnonzero(~piece)[-1]) + 1
            if piece[:head].any():
                parts.append(chunk.slice(0, head).filter(pa.array(piece[:head])))
            if head < len(piece):
                parts.append(chunk.slice(head))
    chunked = pa.chunked_array(parts, type=values.array._pa_array.type)
    return pd.Series(chunked, dtype=values.dtype)


def table_writes(current: State, planned: State) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{table: (rows to delete, rows to insert)}`` for the tables that differ.

    Rows are compared whole; deleted rows are whole too (the store deletes by their key;
    history keeps them for revert). Tables the plan did not replace are skipped.
    """
    writes = {}
    for name, (columns, key) in TABLES.items():
        if planned.tables[name] is current.tables[name]:
            continue
        old = current.tables[name][list(columns)]
        new = planned.tables[name][list(columns)]
        gone_mask, added_mask = _changed_rows(old, new, key)
        if gone_mask.any() or added_mask.any():
            # A changed row is deleted by its old key and inserted anew.
            writes[name] = (_rows(old, gone_mask), _rows(new, added_mask))
        if len(new) >= RELEASE_ROWS:  # the compared cells, before the next table's
            release_memory()
    return writes
