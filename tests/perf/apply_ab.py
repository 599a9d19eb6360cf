"""Time the apply stage alone: one plan, applied several times to fresh copies of a store.

    python tests/perf/apply_ab.py /tmp/b1m --fresh /tmp/b1m-state-fresh.db --reps 2

DIR is a tenant kept by ``bench.py --keep`` (DIR/inputs); ``--fresh`` a copy of its store
taken before any apply (bench's apply run changes DIR/state.db, which this overwrites with
``--fresh``). The plan is made once, as the CLI makes it, then each repetition applies it
to a new copy and prints the apply's wall and CPU seconds, Store.write's share (it inserts
the history blobs too, since they are made beside it: compare the apply's total between
builds), and the peak RSS during the apply. To compare
two builds on this noisy machine, run this from each checkout in turn (``--src``) and
compare the best of each.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path


def _status(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--fresh", type=Path, required=True, help="the store before any apply")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument(
        "--src", type=Path, help="a checkout whose src/ to import (default: installed)"
    )
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src / "src"))
    from userbatch import apply, jobs
    from userbatch.frames import release_memory
    from userbatch.state.history import new_run_id, run_record
    from userbatch.state.store import Store

    state, copy = args.workdir / "state.db", args.workdir / "apply-ab.db"
    shutil.copy(args.fresh, state)
    plan = jobs.run_plan(
        [args.workdir / "inputs"], state=state, report_dir=args.workdir / "report-ab",
        keep_current=False,
    ).plan  # fmt: skip
    spent = {}
    write = Store.write

    def timed_write(*a, **k):
        started = time.perf_counter()
        try:
            return write(*a, **k)
        finally:
            spent["write"] = time.perf_counter() - started

    Store.write = timed_write
    for _ in range(args.reps):
        shutil.copy(args.fresh, copy)
        store = Store.open(copy)
        release_memory()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the peak from here
        wall, cpu = time.perf_counter(), time.process_time()
        apply.apply_plan(store, plan, run=run_record(new_run_id(), "apply", [], [], 0))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"apply {wall:6.2f} s (cpu {cpu:6.2f} s), Store.write {spent['write']:6.2f} s, "
            f"peak {_status('VmHWM'):5.0f} MiB",
            flush=True,
        )
        store.engine.dispose()
    copy.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
