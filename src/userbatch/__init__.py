"""userbatch: bulk user onboarding for Power Platform and Dynamics 365 environments."""

import os

__version__ = "0.1.0"

# Arrow's default pool (mimalloc) keeps freed pages for reuse; the system allocator hands
# them back, which lowers the peak of a million-user run by ~17% (1.87 against 2.25 GiB at
# 300k users, tests/perf/bench.py). ARROW_DEFAULT_MEMORY_POOL still decides when it is set.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
