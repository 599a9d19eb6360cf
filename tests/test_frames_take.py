"""frames.take reads a chunked column chunk by chunk and gives the rows a plain take does."""

import numpy as np
import pyarrow as pa
import pytest

from userbatch.frames import take

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
