"""Where a plan (or apply) spends its time and memory, function by function.

    python tests/perf/trace.py /tmp/b1m [--apply]

Runs ``jobs.run_plan`` on DIR/inputs against DIR/state.db (a tenant kept by
``bench.py --keep``; --apply changes the store, so copy state.db first) and prints, for
each call of the functions below: seconds, RSS before -> after, the high-water mark and
how much of it the call added, and the bytes Arrow holds. Functions named by the module
that calls them (``userbatch.plan`` imports the rules by name). Do not wrap ``make_plan``
itself: the wrapper would hold the frames it hands over.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import time
from pathlib import Path

import pyarrow as pa

TRACED = {
    "userbatch.jobs": ["read_and_validate", "_exit_code", "_write", "_state_facts"],
    "userbatch.state.store": [
        "Store.load_with_fingerprint", "PendingLoad.result", "Store.write", "_insert",
    ],
    "userbatch.plan": [
        "plan_users", "plan_licenses", "plan_memberships", "user_keys", "derive_environment_users",
        "plan_roles", "plan_records", "diff_environment_users", "warn_primary_email",
        "warn_roleless", "_settle_outcomes", "table_writes",
        "release_memory",
    ],
    "userbatch.plan.changes": ["ChangeLog.frame"],
    "userbatch.apply": ["credentials_for", "RunBlobs.finish"],
    "userbatch.reports": ["write_csv", "errors_tables", "write_report_xlsx"],
}  # fmt: skip


def _memory() -> tuple[float, float]:
    """(RSS, high-water mark) in MiB."""
    values = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line[:5]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _wrap(owner, name: str) -> None:
    function = getattr(owner, name)

    @functools.wraps(function)
    def traced(*args, **kwargs):
        (rss, peak), started = _memory(), time.perf_counter()
        result = function(*args, **kwargs)
        (after, high) = _memory()
        arrow = pa.total_allocated_bytes() / 2**20
        print(
            f"{name:30s} {time.perf_counter() - started:7.2f}s rss {rss:6.0f} -> {after:6.0f}"
            f" peak {high:6.0f} (+{high - peak:4.0f} in call) arrow {arrow:6.0f}",
            flush=True,
        )
        return result

    setattr(owner, name, traced)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--apply", action="store_true")
    args = parser.parse_args(argv)
    for module, names in TRACED.items():
        for dotted in names:
            owner = importlib.import_module(module)
            *path, name = dotted.split(".")
            for part in path:
                owner = getattr(owner, part)
            _wrap(owner, name)
    from userbatch import jobs

    result = jobs.run_plan(
        [args.workdir / "inputs"], state=args.workdir / "state.db",
        report_dir=args.workdir / "trace-report", apply=args.apply,
    )  # fmt: skip
    print("exit", result.exit_code, "rss, peak MiB", _memory())


if __name__ == "__main__":
    main()
