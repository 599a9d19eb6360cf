"""Same answers after a speed-up: record a generated tenant's reports and store, then check
a later build gives the same rows (order aside).

    python tests/perf/golden.py record /tmp/golden --users 20000   # before a change
    python tests/perf/golden.py check /tmp/golden                  # after it: exit 1 on a diff

Runs ``plan`` then ``apply`` (as the CLI does, through ``userbatch.jobs``) on the tenant of
``tests/perf/generate.py`` and exports the store after the apply. Compared: every report CSV
(results, problems, changes, invitations, errors/*), credentials' user names (passwords are
random), summary.json's counts, each as a multiset of rows, and the exported store row by
row in its order (a load reads the store in that order; R12 breaks ties by it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from userbatch import jobs

GENERATOR = Path(__file__).with_name("generate.py")
TENANT_PREFIX = r"[^,\"]*/tenant/"  # a copied record's inputs lie in another folder


def run(tenant: Path, out: Path) -> None:
    """Plan, apply and export ``tenant`` into ``out`` (a fresh store each time)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    state = out / "state.db"
    jobs.run_init(str(state), snapshot=str(tenant / "snapshot"))
    jobs.run_plan([tenant / "inputs"], state=state, report_dir=out / "plan", apply=False)
    jobs.run_plan([tenant / "inputs"], state=state, report_dir=out / "apply", apply=True)
    jobs.run_export(state, out / "export")
    (out / "state.db").unlink()


def _rows(path: Path, ordered: bool = False) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.name == "credentials.csv":
        frame = frame[["user_principal_name"]]
    for column in frame.columns:  # the tenant's folder differs between copies of a record
        frame[column] = frame[column].str.replace(TENANT_PREFIX, "", regex=True)
    if ordered:
        return frame
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _counts(path: Path) -> dict:
    summary = json.loads(re.sub(TENANT_PREFIX, "", path.read_text()))
    return {k: v for k, v in summary.items() if not k.startswith(("timings", "store_fingerprint"))}


def compare(expected: Path, actual: Path) -> list[str]:
    differences = []
    for path in sorted(expected.rglob("*")):
        relative = path.relative_to(expected)
        other = actual / relative
        if path.is_dir() or path.suffix not in (".csv", ".json"):
            continue
        if not other.exists():
            differences.append(f"{relative}: missing")
        elif path.suffix == ".json":
            if _counts(path) != _counts(other):
                differences.append(f"{relative}: counts differ")
        else:
            ordered = relative.parts[0] == "export"
            left, right = _rows(path, ordered), _rows(other, ordered)
            if list(left.columns) != list(right.columns) or not left.equals(right):
                differences.append(
                    f"{relative}: {len(left)} rows expected, {len(right)} got; "
                    f"first difference: {_first_difference(left, right)}"
                )
    for path in sorted(actual.rglob("*.csv")):
        if not (expected / path.relative_to(actual)).exists():
            differences.append(f"{path.relative_to(actual)}: not expected")
    return differences


def _first_difference(left: pd.DataFrame, right: pd.DataFrame) -> str:
    if list(left.columns) != list(right.columns):
        return f"columns {list(left.columns)} vs {list(right.columns)}"
    both = left.merge(right, how="outer", indicator=True)
    odd = both[both["_merge"] != "both"].head(2)
    return odd.to_dict("records").__repr__()[:600]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    tenant = args.dir / "tenant"
    if args.action == "record":
        shutil.rmtree(args.dir, ignore_errors=True)
        command = [sys.executable, str(GENERATOR), "--users", str(args.users), "--seed",
                   str(args.seed), "--records-ratio", "0.5", "--out", str(tenant)]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        run(tenant, args.dir / "expected")
        print(f"recorded {args.dir / 'expected'}")
        return 0
    actual = args.dir / "actual"
    run(tenant, actual)
    differences = compare(args.dir / "expected", actual)
    print("\n".join(differences) if differences else "same rows in every report and the store")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
