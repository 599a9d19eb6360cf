"""frames.take, rows_where and rows_at read chunked columns chunk by chunk and give the rows
a plain take, filter or iloc gives; lower() is pandas' trim and lower-case."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

from userbatch.frames import rows_at, rows_where, take
from userbatch.plan.context import lower

BASE = pa.array([f"v{i}" if i % 7 else None for i in range(1000)], type=pa.large_string())


@pytest.mark.parametrize("cuts", [[], [1], [10, 500], [0, 0, 999], list(range(0, 1000, 37))])
@pytest.mark.parametrize("count", [0, 1, 50, 1000])
def test_take_from_chunks_gives_the_rows_in_the_order_asked(cuts, count):
    bounds = [0, *cuts, len(BASE)]
    chunked = pa.chunked_array(
        [BASE.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)], type=BASE.type
    )
    positions = np.random.default_rng(count + len(cuts)).integers(0, len(BASE), count)
    expected = BASE.take(pa.array(positions, type=pa.int64())).to_pylist()
    assert take(chunked, positions).to_pylist() == expected


def _frame(cuts) -> pd.DataFrame:
    bounds = [0, *cuts, len(BASE)]
    chunked = pa.chunked_array(
        [BASE.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)], type=BASE.type
    )
    return pd.DataFrame(
        {
            "text": pd.Series(chunked, dtype="str"),
            "file": pd.Categorical(["a.csv", "b.csv"] * 500),
            "row": np.arange(1000, dtype="int64") + 2,
            "flag": pd.array([True, None] * 500, dtype="boolean"),
        },
        index=np.arange(1000)[::-1] * 3,  # rows selected keep their index labels
    )


@pytest.mark.parametrize("cuts", [[], [10, 500], list(range(0, 1000, 37))])
@pytest.mark.parametrize("count", [0, 3, 600, 1000])
def test_rows_where_and_rows_at_give_the_rows_pandas_gives(cuts, count):
    frame = _frame(cuts)
    rng = np.random.default_rng(count)
    mask = np.zeros(len(frame), bool)
    mask[rng.choice(len(frame), count, replace=False)] = True
    pdt.assert_frame_equal(rows_where(frame, mask), frame[mask])
    positions = rng.integers(0, len(frame), count)
    pdt.assert_frame_equal(rows_at(frame, positions), frame.iloc[positions])


def test_lower_trims_and_lower_cases_as_pandas_does_and_keeps_the_name():
    values = pd.Series(
        ["  Ann@Contoso.COM ", "ÉLODIE@Ü.example", None, "\tx\n", "ǅ", "İstanbul"], name="upn"
    )
    expected = values.astype("str").str.strip().str.lower()
    pdt.assert_series_equal(lower(values), expected)
    pdt.assert_series_equal(lower(values[:1]), expected[:1])  # all ASCII: the fast path
