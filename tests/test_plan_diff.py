"""table_writes: which rows the store deletes and inserts, whatever order the planners
left the planned rows in."""

import pandas as pd
import pyarrow as pa

from userbatch.plan.diff import table_writes
from userbatch.state.model import State


def _memberships(pairs, chunks=None):
    frame = pd.DataFrame(pairs, columns=["group", "member"], dtype="str")
    if chunks:  # the planners' layout: kept rows, then added rows, as separate Arrow chunks
        for column in frame:
            values = pa.array(frame[column], from_pandas=True)
            values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
            parts = [
                values.slice(a, b - a)
                for a, b in zip([0, *chunks], [*chunks, len(frame)], strict=True)
            ]
            frame[column] = pd.Series(pa.chunked_array(parts), dtype="str")
    return frame


def _writes(old, new):
    current = State({"memberships": old})
    planned = current.replace(memberships=new)
    return table_writes(current, planned).get("memberships")


def test_unchanged_rows_in_another_order_write_nothing():
    old = _memberships([("sales", "a"), ("sales", "b"), ("ops", "a")])
    new = _memberships([("ops", "a"), ("sales", "b"), ("sales", "a")])
    assert _writes(old, new) is None


def test_added_and_removed_rows_are_found_in_any_order():
    old = _memberships([("sales", "a"), ("sales", "b"), ("ops", "a")])
    new = _memberships([("sales", "b"), ("hr", "c"), ("ops", "a"), ("sales", "d")], chunks=[2])
    gone, added = _writes(old, new)
    assert gone.to_dict("records") == [{"group": "sales", "member": "a"}]
    assert sorted(map(tuple, added.to_numpy())) == [("hr", "c"), ("sales", "d")]


def test_key_parts_are_not_confused_when_joined():
    old = _memberships([("a|b", "c"), ("a", "b|c")])
    new = _memberships([("a", "b|c"), ("a|b", "c")])
    assert _writes(old, new) is None
