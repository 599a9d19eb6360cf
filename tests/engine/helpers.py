"""Small readable fixtures for engine tests: a snapshot and inputs written as CSV text."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pandas as pd

from userbatch import jobs
from userbatch.plan import PlanOptions
from userbatch.state.store import Store

BASE_SNAPSHOT = {
    "environments": """
        name,kind,security_group,allow_role_assignment_on_disabled_users
        sales,dynamics365,SG-Sales,no
    """,
    "skus": """
        sku,total_units,grants_access
        SALES,10,yes
        MAIL,10,no
    """,
    "groups": """
        name
        SG-Sales
    """,
}


def write_csv_text(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return path


def make_store(tmp_path: Path, **sheets: str) -> Path:
    """A store initialised from BASE_SNAPSHOT with ``sheets`` added or replaced."""
    folder = tmp_path / "snapshot"
    folder.mkdir(exist_ok=True)
    for name, text in {**BASE_SNAPSHOT, **sheets}.items():
        write_csv_text(folder / f"{name}.csv", text)
    state = tmp_path / "state.db"
    jobs.run_init(state, snapshot=folder)
    return state


def run(tmp_path: Path, state: Path, *, apply=False, check=False, name="run", **files_and_options):
    """Plan (or apply) the inputs given as ``users="csv text"`` etc. against ``state``."""
    option_names = set(PlanOptions.__dataclass_fields__)
    options = PlanOptions(**{k: v for k, v in files_and_options.items() if k in option_names})
    folder = tmp_path / f"in-{name}"
    folder.mkdir(exist_ok=True)
    paths = [
        write_csv_text(folder / f"{kind}.csv", text)
        for kind, text in files_and_options.items()
        if kind not in option_names
    ]
    return jobs.run_plan(
        paths, state=state, options=options, report_dir=tmp_path / f"reports-{name}",
        apply=apply, check=check,
    )  # fmt: skip


def changes(result, change: str | None = None, entity: str | None = None) -> pd.DataFrame:
    frame = result.plan.changes_with_after()
    if change:
        frame = frame[frame["change"] == change]
    if entity:
        frame = frame[frame["entity"] == entity]
    return frame


def outcomes(result, kind: str) -> list[str]:
    return result.plan.frames[kind]["outcome"].tolist()


def problems(result, rule: str) -> pd.DataFrame:
    frame = pd.read_csv(result.report_dir / "problems.csv", dtype=str, keep_default_na=False)
    return frame[frame["rule"] == rule]


def report_rows(result, name: str) -> list[dict]:
    with open(result.report_dir / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def env_users(state: Path) -> pd.DataFrame:
    return Store.open(state).load().environment_users
