"""Time read + validate of a generated users CSV; print seconds and peak RSS.

    python tests/perf/bench_validate.py --rows 1000000 --invalid 10

Acceptance (issue "Foundation"): 1,000,000 rows under 5 s and under 1.5 GiB peak on the
2-core machine. Reads with ``userbatch.io.readers.read_inputs`` when it exists, else with
``pd.read_csv(engine="pyarrow")`` shaped like a kind frame (the readers' contract).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from userbatch.problems import Problems
from userbatch.validate import validate
from userbatch.vocabulary import KINDS

GENERATOR = Path(__file__).with_name("generate_users.py")


@dataclass
class PlainRead:
    """What ``read_inputs`` returns, for the users kind only."""

    frames: dict
    columns: dict
    problems: Problems = field(default_factory=Problems)
    inputs: list = field(default_factory=list)
    rejected_files: list = field(default_factory=list)


def read_plain(path: Path) -> PlainRead:
    frame = pd.read_csv(path, engine="pyarrow", dtype=str, keep_default_na=False)
    frame = frame.mask(frame == "")  # empty strings are missing values
    frame.insert(0, "source_row", np.arange(2, len(frame) + 2))
    frame.insert(0, "source_sheet", pd.Series(np.nan, index=frame.index, dtype="str"))
    frame.insert(0, "source_file", path.name)
    frames = {kind: None for kind in KINDS} | {"users": frame}
    return PlainRead(frames=frames, columns={"users": list(frame.columns[3:])})


def read(path: Path, plain: bool):
    if plain:
        return read_plain(path), "pd.read_csv(engine='pyarrow')"
    try:
        from userbatch.io.readers import read_inputs
    except ImportError:
        return read_plain(path), "pd.read_csv(engine='pyarrow')"
    return read_inputs([path]), "userbatch.io.readers.read_inputs"


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """This process image's peak RSS. Linux's ru_maxrss keeps the parent's peak across
    fork+exec (a bench started from a big pytest process would report pytest's), so read
    VmHWM, the high-water mark of this image alone, where there is /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # KiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def generate(path: Path, args) -> Path:
    """In a child process, so that generating does not count in this one's peak RSS."""
    options = ["--rows", str(args.rows), "--seed", str(args.seed), "--invalid", str(args.invalid)]
    subprocess.run([sys.executable, str(GENERATOR), str(path), *options], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--invalid", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv", type=Path, help="reuse this CSV instead of generating one")
    parser.add_argument("--plain", action="store_true", help="read with pd.read_csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or generate(Path(tmp) / "users.csv", args)
        baseline = peak_rss_mib()
        start, cpu_start = time.perf_counter(), cpu_s()
        result, reader = read(path, args.plain)
        read_s = time.perf_counter() - start
        validation = validate(result)
        total_s, total_cpu_s = time.perf_counter() - start, cpu_s() - cpu_start
    users = validation.frames["users"]
    print(f"reader      {reader}")
    print(f"rows        {len(users):,} ({validation.count('invalid')} invalid)")
    print(f"problems    {len(validation.problems):,}")
    print(f"read        {read_s:.2f} s")
    print(f"validate    {total_s - read_s:.2f} s")
    print(f"total       {total_s:.2f} s (CPU {total_cpu_s:.2f} s; wall grows on a busy machine)")
    print(f"peak RSS    {peak_rss_mib():.0f} MiB (before reading: {baseline:.0f} MiB)")


if __name__ == "__main__":
    main()
