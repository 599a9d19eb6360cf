"""Integer codes for the tenant rules (licenses, memberships): texts are hashed once into
codes, pairs of codes stand for ``user|sku`` and ``group|member`` keys, and set tests run on
bit tables, so no rule builds or hashes a joined text key for every row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, text_chunks
from userbatch.plan.context import lower


def text_codes(*columns) -> tuple[list[np.ndarray], pa.Array]:
    """One integer per distinct text across ``columns`` (Series or Arrow arrays), -1 where
    missing, and the texts by code. One hash pass over all of them: each set lookup of
    text (``isin``, ``index_in``) hashes its whole candidate set again (~0.3 s per million
    users), while codes compare as integers and index flag tables."""
    chunks = [text_chunks(c) for c in columns]
    flat = [chunk for parts in chunks for chunk in parts]
    encoded = pc.dictionary_encode(pa.chunked_array(flat, type=pa.large_string()))
    # Every chunk shares the final dictionary (empty chunks are left out).
    pieces = [pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
    codes = np.concatenate(pieces).astype(np.int64) if pieces else np.empty(0, np.int64)
    bounds = np.cumsum([sum(len(chunk) for chunk in parts) for parts in chunks])[:-1]
    dictionary = (
        encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.large_string())
    )
    return np.split(codes, bounds), dictionary


def key_codes(keys, *columns) -> tuple[list[np.ndarray], int]:
    """Codes of the texts of ``columns`` (Series or Arrow arrays): the first position of an
    equal text in ``keys``, else a code from ``len(keys)`` on, shared by the equal texts
    that are no key; -1 where missing. Returns the codes per column and their bound.

    One set lookup of every text against ``keys`` (Arrow sizes its hash set by ``keys``;
    coding keys and texts together grows a table as it goes, ~20% dearer), then a coding
    of the few texts left over (groups, unknown or deleted users)."""
    chunks = [text_chunks(c) for c in columns]
    texts = pa.chunked_array([c for parts in chunks for c in parts], type=pa.large_string())
    key_set = pa.chunked_array(text_chunks(keys), type=pa.large_string())
    found = pc.index_in(texts, value_set=key_set)
    code = np.concatenate(
        [pc.fill_null(c, -1).to_numpy(zero_copy_only=False) for c in found.chunks]
        or [np.empty(0, np.int32)]
    ).astype(np.int32)  # (a writable copy: the texts left over are coded below)
    valid = np.concatenate(
        [c.is_valid().to_numpy(zero_copy_only=False) for c in texts.chunks] or [np.empty(0, bool)]
    )
    rest, bound = np.flatnonzero(valid & (code < 0)), len(key_set)
    if len(rest):
        (others,), dictionary = text_codes(texts.take(pa.array(rest)))
        code[rest] = others + bound
        bound += len(dictionary)
    ends = np.cumsum([sum(len(c) for c in parts) for parts in chunks])[:-1]
    return np.split(code, ends), bound


def lowered_codes(*columns) -> tuple[list[np.ndarray], pa.Array]:
    """``text_codes`` of the columns lower-cased (``lower``), for columns of a few distinct
    names (groups, SKUs): only the distinct names are lower-cased."""
    raw, names = text_codes(*columns)
    (mapping,), lowered = text_codes(lower(pd.Series(names.to_pandas(), dtype="str")))
    mapping = np.append(mapping, -1)  # code -1 (missing) stays -1
    return [mapping[c] for c in raw], lowered


def stacked(stored, keep: np.ndarray, added: pa.Array) -> pd.Series:
    """The ``keep`` stored values (a Series or Arrow array), then the ``added`` ones, as
    chunks: neither the stored column nor the whole is copied into one array."""
    chunks = pa.chunked_array(text_chunks(stored), type=pa.large_string())
    if not keep.all():
        chunks = chunks.filter(pa.array(keep))
    whole = pa.chunked_array([*chunks.chunks, *text_chunks(added)], type=pa.large_string())
    return as_series(whole, pd.RangeIndex(len(whole)))


def pair_codes(left: np.ndarray, right: np.ndarray, right_size: int) -> np.ndarray:
    """One code per (left, right) pair; -1 where either is missing (as a text pair is
    missing where either part is)."""
    pairs = left.astype(np.int64) * (right_size + 1) + right
    return np.where((left < 0) | (right < 0), -1, pairs)


def code_isin(values: np.ndarray, candidates: np.ndarray, size: int) -> np.ndarray:
    """``values`` in ``candidates`` for codes in [-1, size): a flag per possible code when
    that table is small (no hashing at all), else Arrow's hash set of integers."""
    if size <= max(1 << 30, 32 * (len(values) + len(candidates))):
        # One bit per code: a table of 8× fewer bytes stays in the CPU caches longer.
        bits = np.zeros((size + 1 + 7) // 8, np.uint8)
        at = candidates + 1
        np.bitwise_or.at(bits, at >> 3, (1 << (at & 7)).astype(np.uint8))
        at = values + 1
        return ((bits[at >> 3] >> (at & 7).astype(np.uint8)) & 1).astype(bool)
    found = pc.is_in(pa.array(values), value_set=pa.array(candidates))
    return found.to_numpy(zero_copy_only=False)


@dataclass
class GroupMembers:
    """The planned memberships as the memberships rule coded them, so the derivation does
    not fold and look up every member again (1M users: ~0.6 s): per row its lower-cased
    group (a position in ``groups``) and the position among the planned tenant users of
    the user its member's text names (-1: none)."""

    groups: pa.Array
    group: np.ndarray
    user: np.ndarray

    def users_of(self, group: str) -> np.ndarray:
        """Positions of the planned users who are direct members of ``group``."""
        found = pc.index(self.groups, group.lower()).as_py()  # -1 where absent
        if found < 0:
            return np.empty(0, dtype=np.int64)
        return self.user[(self.group == found) & (self.user >= 0)].astype(np.int64)
