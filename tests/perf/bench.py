"""Time each stage of a plan and an apply at scale; print a table and one JSON line.

    python tests/perf/bench.py --users 1000000            # existing defaults to users/2
    python tests/perf/bench.py --users 100000 --profile   # pyinstrument on the plan-only run

Generates a tenant with ``tests/perf/generate.py`` (in a subprocess, so its memory is not
counted; a --workdir already holding the same tenant is reused), loads its snapshot into a
fresh SQLite store (``userbatch init``, also a subprocess: timed, not a stage), then in this
process: a bare ``pd.read_csv(engine="pyarrow")`` of every input file, a plan-only run and
an apply run, both through ``userbatch.jobs.run_plan`` as the CLI calls it. Stage times are
the ones run_plan's Timer records (read, validate, plan, apply, reports); ``plan_s`` includes
loading the store. read/validate/plan come from the plan-only run, apply/reports from the
apply run. Targets (issue 5) at 1M users: plan ≤ 20 s, apply + reports ≤ 40 s, peak ≤ 3 GiB,
plan ≤ 20× the bare read (``plan_over_bare_read``: the plan stage over the bare read;
``plan_total_over_bare_read`` counts read and validate in too).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from userbatch import jobs

GENERATOR = Path(__file__).with_name("generate.py")
PLAN_STAGES = ("read", "validate", "plan")
PROFILE_TOP = 25  # lines of the profile printed


class RecordingTimer(jobs.Timer):
    """jobs.Timer that remembers its instances, so a bench reads every stage's seconds
    (the summary.json is written before run_plan times the reports)."""

    made: list[jobs.Timer] = []

    def __init__(self) -> None:
        super().__init__()
        RecordingTimer.made.append(self)


def peak_rss_mib() -> float:
    """Peak resident memory of this process image so far: VmHWM where there is /proc
    (ru_maxrss would keep a parent's peak across fork+exec), else ru_maxrss (KiB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_tenant(workdir: Path, users: int, existing: int, seed: int) -> float:
    """Generate the tenant unless ``workdir`` holds this one already; return seconds spent."""
    manifest = workdir / "manifest.json"
    if manifest.exists():
        known = json.loads(manifest.read_text())
        if (known["users"], known["existing"], known["seed"]) == (users, existing, seed):
            return 0.0
    started = time.perf_counter()
    command = [sys.executable, str(GENERATOR), "--users", str(users), "--existing",
               str(existing), "--seed", str(seed), "--out", str(workdir)]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def init_store(workdir: Path) -> tuple[Path, float]:
    """A fresh SQLite store loaded from the snapshot, by `userbatch init` in a subprocess."""
    state = workdir / "state.db"
    state.unlink(missing_ok=True)
    started = time.perf_counter()
    code = (
        "import sys; from userbatch.jobs import run_init; "
        "run_init(sys.argv[1], snapshot=sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", code, str(state), str(workdir / "snapshot")], check=True)
    return state, time.perf_counter() - started


def bare_read(inputs: Path, repeats: int = 3) -> float:
    """What reading the inputs costs with nothing else: the yardstick for plan time. The
    best of ``repeats`` reads: the first one in a process also pays for a cold page cache
    and Arrow's thread pool (measured 0.7–2.6 s at 1M users for the same files)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for path in sorted(inputs.glob("*.csv")):
            pd.read_csv(path, engine="pyarrow", dtype=str, keep_default_na=False)
        best = min(best, time.perf_counter() - started)
    return best


def timed_run(workdir: Path, state: Path, name: str, apply: bool) -> tuple[dict, float, object]:
    """run_plan once; return its stage timings, its wall time and its JobResult."""
    RecordingTimer.made.clear()
    started = time.perf_counter()
    result = jobs.run_plan(  # as the CLI calls it
        [workdir / "inputs"], state=state, report_dir=workdir / name, apply=apply,
        keep_current=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    return dict(RecordingTimer.made[-1].timings), wall, result


def profiled_plan(workdir: Path, state: Path) -> tuple[dict, float, object, str]:
    """The plan-only run under pyinstrument; the profile text goes to the workdir."""
    from pyinstrument import Profiler  # dev extra: only --profile needs it

    profiler = Profiler(interval=0.005)
    profiler.start()
    try:
        timings, wall, result = timed_run(workdir, state, "report-plan", apply=False)
    finally:
        profiler.stop()
    tree = profiler.output_text(unicode=True, color=False, show_all=False)
    flat = profiler.output_text(unicode=True, color=False, flat=True)  # by self time
    (workdir / "profile-plan.txt").write_text(tree + "\n\nBy self time:\n" + flat)
    profiler.write_html(str(workdir / "profile-plan.html"))
    return timings, wall, result, flat


def figures(users, plan_t, apply_t, bare, plan_peak, init_s) -> dict:
    plan_time = sum(plan_t.get(s, 0.0) for s in PLAN_STAGES)
    return {
        "users": users,
        "read_s": plan_t.get("read"),
        "validate_s": plan_t.get("validate"),
        "plan_s": plan_t.get("plan"),
        "apply_s": apply_t.get("apply"),
        "reports_s": apply_t.get("reports"),
        "plan_reports_s": plan_t.get("reports"),
        "plan_total_s": round(plan_time, 3),
        "apply_total_s": round(sum(apply_t.values()), 3),
        "bare_read_s": round(bare, 3),
        # The target's ratio: the plan stage (store load + reconcile) over the bare read;
        # the whole plan command (read + validate + plan) over it is printed too.
        "plan_over_bare_read": round(plan_t.get("plan", 0.0) / bare, 2) if bare else None,
        "plan_total_over_bare_read": round(plan_time / bare, 2) if bare else None,
        "init_s": round(init_s, 3),
        "plan_peak_rss_mib": round(plan_peak, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def table(plan_t: dict, apply_t: dict, walls: tuple[float, float], rows: int) -> str:
    """Stage × run seconds, with µs per users row so runs of different sizes compare."""
    stages = ("read", "validate", "plan", "apply", "reports")
    lines = [f"{'stage':<10}{'plan run s':>12}{'apply run s':>13}{'µs/user':>10}"]
    for stage in stages:
        p, a = plan_t.get(stage), apply_t.get(stage)
        basis = a if stage in ("apply", "reports") else p
        per_row = f"{basis / rows * 1e6:10.2f}" if basis is not None else f"{'':>10}"
        lines.append(f"{stage:<10}{_cell(p, 12)}{_cell(a, 13)}{per_row}")
    lines.append(f"{'(wall)':<10}{walls[0]:12.3f}{walls[1]:13.3f}")
    return "\n".join(lines)


def _cell(value, width: int) -> str:
    return f"{value:{width}.3f}" if value is not None else " " * (width - 1) + "-"


def outcome_line(result) -> str:
    """What the run did, as the terminal would count it (a bench that plans nothing lies)."""
    counts = result.plan.counts() if result.plan is not None else pd.Series(dtype=int)
    top = ", ".join(f"{change} {entity} {n}" for (change, entity), n in counts.items())
    return f"exit {result.exit_code}; changes: {top}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=None, help="default users/2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated tenant")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the plan-only run")
    args = parser.parse_args(argv)
    existing = args.users // 2 if args.existing is None else args.existing
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"userbatch-bench-{args.users}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    original, jobs.Timer = jobs.Timer, RecordingTimer  # run_plan makes its Timer by this name
    try:
        return _bench(args, existing, workdir)
    finally:
        jobs.Timer = original
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(args, existing: int, workdir: Path) -> dict:
    generated = ensure_tenant(workdir, args.users, existing, args.seed)
    state, init_s = init_store(workdir)
    print(f"tenant {workdir}: {args.users} users rows, {existing} existing "
          f"(generated in {generated:.1f} s, init {init_s:.1f} s)")  # fmt: skip
    bare = bare_read(workdir / "inputs")
    profile = None
    if args.profile:
        plan_t, plan_wall, planned, profile = profiled_plan(workdir, state)
    else:
        plan_t, plan_wall, planned = timed_run(workdir, state, "report-plan", apply=False)
    plan_peak = peak_rss_mib()
    print("plan: ", outcome_line(planned))
    del planned  # the apply run should not carry the plan run's frames in its peak
    apply_t, apply_wall, applied = timed_run(workdir, state, "report-apply", apply=True)
    print("apply:", outcome_line(applied), "(applied)" if applied.applied else "(NOT applied)")
    del applied
    out = figures(args.users, plan_t, apply_t, bare, plan_peak, init_s)
    print(table(plan_t, apply_t, (plan_wall, apply_wall), args.users))
    print(
        f"bare pyarrow read {bare:.3f} s; plan/bare {out['plan_over_bare_read']}× (read+validate+"
        f"plan/bare {out['plan_total_over_bare_read']}×); peak RSS "
        f"{out['peak_rss_mib']:.0f} MiB (after the plan run {out['plan_peak_rss_mib']:.0f})"
    )
    if profile is not None:
        print(f"profile: {workdir / 'profile-plan.txt'}; top {PROFILE_TOP} by self time:")
        lines = profile.splitlines()
        start = next((i + 1 for i, line in enumerate(lines) if line.startswith("Profile at")), 0)
        print("\n".join([line for line in lines[start:] if line.strip()][:PROFILE_TOP]))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
