"""Snapshots: the state as an .xlsx with one sheet per table, or a folder of CSVs (SPEC §3).

Loading reuses the input pipeline: the users, licenses, memberships, roles and records
sheets are read and validated as inputs (so an Entra "Download users" CSV is a valid users
sheet); the other sheets are read as plain tables. ``export`` writes the same format.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from userbatch.errors import InputRejectedError, UsageError
from userbatch.frames import isin
from userbatch.io.readers import read_inputs, read_sheets
from userbatch.io.writers import write_csv, write_xlsx
from userbatch.plan.context import lower
from userbatch.plan.jsoncol import json_objects
from userbatch.plan.rules.enablement import derive_environment_users
from userbatch.state.model import TABLES, TENANT_USER_COLUMNS, State
from userbatch.validate import validate
from userbatch.vocabulary import COLUMNS, DEFAULT_ROLES, ROW_META_COLUMNS

PLAIN_SHEETS = ("environments", "skus", "domains", "groups", "security_roles", "environment_users")
RECORD_BASE = {*COLUMNS["records"], *ROW_META_COLUMNS}


def load_snapshot(path: str | Path, *, encoding: str | None = None) -> tuple[State, pd.DataFrame]:
    """The State a snapshot describes, and the problems of the rows that were left out."""
    validation = validate(read_inputs([path], encoding=encoding))
    problems = validation.problems.frame()
    rejected = problems[problems["level"].eq("error")]
    frames = {k: f[f["outcome"].eq("valid")] for k, f in validation.frames.items()}
    plain = _plain_sheets(path, encoding)
    environments = _environments(plain.get("environments"))
    tables = {
        "environments": environments,
        "skus": _skus(plain.get("skus")),
        "domains": plain.get("domains"),
        "groups": plain.get("groups"),
        "security_roles": _security_roles(plain.get("security_roles"), environments),
        "users": frames["users"].reindex(columns=list(TENANT_USER_COLUMNS)),
        "licenses": frames["licenses"].assign(
            user_principal_name=lambda f: lower(f["user_principal_name"])
        ),
        "memberships": _memberships(frames["memberships"], plain.get("groups")),
        "roles": frames["roles"].assign(
            user_principal_name=lambda f: lower(f["user_principal_name"])
        ),
        "records": _records(frames["records"]),
    }
    state = State(tables)
    env_users = plain.get("environment_users")
    if env_users is None:
        env_users = derive_environment_users(state)
    return state.replace(environment_users=env_users), rejected


def _plain_sheets(path, encoding) -> dict[str, pd.DataFrame]:
    sheets = {}
    for name, frame, _first_row in read_sheets(path, encoding=encoding):
        stem = Path(str(name)).stem.strip().lower()
        if stem in PLAIN_SHEETS:
            frame = frame.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
            sheets[stem] = frame.replace("", pd.NA)
    return sheets


def _environments(frame):
    if frame is None:
        return None
    frame = frame.copy()
    frame["kind"] = lower(frame["kind"]).fillna("dynamics365") if "kind" in frame else "dynamics365"
    bad = frame[~isin(frame["kind"], ("dynamics365", "powerapps"))]
    if len(bad):
        raise InputRejectedError(
            f"environment {bad['name'].iloc[0]}: kind must be dynamics365 or powerapps"
        )
    return frame


def _skus(frame):
    if frame is None:
        return None
    frame = frame.copy()
    grants = (
        frame["grants_access"] if "grants_access" in frame else pd.Series(pd.NA, index=frame.index)
    )
    frame["grants_access"] = _yes_no(grants, default="yes")
    return frame


def _yes_no(values: pd.Series, default: str) -> pd.Series:
    words = lower(values.astype("str"))
    out = words.map({"yes": "yes", "true": "yes", "1": "yes", "no": "no", "false": "no", "0": "no"})
    return out.fillna(default)


def default_security_roles(environments: pd.DataFrame) -> pd.DataFrame:
    """The roles every environment of a kind has (SPEC §3)."""
    rows = [
        (env.name, role) for env in environments.itertuples() for role in DEFAULT_ROLES[env.kind]
    ]
    return pd.DataFrame(rows, columns=["environment", "role"])


def _security_roles(frame, environments):
    if environments is None:
        return frame
    defaults = default_security_roles(environments)
    both = pd.concat([defaults, frame], ignore_index=True) if frame is not None else defaults
    return both.drop_duplicates(subset=["environment", "role"])


def _memberships(frame: pd.DataFrame, groups) -> pd.DataFrame:
    names = set() if groups is None else set(lower(groups["name"]))
    member = frame["member"].where(isin(lower(frame["member"]), names), lower(frame["member"]))
    return pd.DataFrame({"group": frame["group"], "member": member})


def _records(frame: pd.DataFrame) -> pd.DataFrame:
    extra = [c for c in frame.columns if c not in RECORD_BASE and c != "data"]
    data = frame["data"] if "data" in frame else (json_objects(frame, extra) if extra else None)
    return frame.reindex(columns=["environment", "table", "record_id", "owner"]).assign(data=data)


def export_snapshot(state: State, out: str | Path) -> Path:
    """Write ``state`` as an .xlsx (one sheet per table) or a folder of CSVs."""
    out = Path(out)
    sheets = {name: state.tables[name][list(TABLES[name][0])] for name in TABLES}
    if out.suffix.lower() in (".xlsx", ".xlsm"):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx(sheets, out)
    elif out.suffix:
        raise UsageError(f"--out {out}: give a .xlsx file or a folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in sheets.items():
            write_csv(frame, out / f"{name}.csv")
    return out
