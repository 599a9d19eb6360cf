"""Saved plans: ``plan --out plan.json`` and ``apply --plan plan.json`` (SPEC §5).

A saved plan holds the changes, the table writes that execute exactly them, the inputs'
sha256 and the store fingerprint it was made against. It never holds a password (R1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from userbatch.errors import FatalError, UnsafeFileError
from userbatch.plan import Plan
from userbatch.plan.changes import CHANGE_COLUMNS
from userbatch.problems import Problems
from userbatch.state.model import TABLES, conform

FORMAT = "userbatch-plan"
VERSION = 1


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def save_plan(
    path, plan: Plan, *, fingerprint: str | None, inputs: list[dict], exit_code: int
) -> Path:
    path = Path(path)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "store_fingerprint": fingerprint,
        "inputs": inputs,
        "exit_code": exit_code,
        "changes": _records(plan.changes_with_after()),
        "writes": {
            table: {"delete": _records(deleted), "insert": _records(inserted)}
            for table, (deleted, inserted) in plan.writes.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def load_plan(path) -> tuple[Plan, dict]:
    """The Plan (changes and writes only) and the document's header fields."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnsafeFileError(f"cannot read {path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnsafeFileError(f"{path}: not a saved userbatch plan (invalid JSON)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UnsafeFileError(f"{path}: not a saved userbatch plan")
    if document.get("version") != VERSION:
        raise FatalError(f"{path}: plan format version {document.get('version')} is not {VERSION}")
    writes = {}
    for table, parts in document["writes"].items():
        if table not in TABLES:
            raise UnsafeFileError(f"{path}: unknown table {table}")
        writes[table] = (
            conform(table, pd.DataFrame(parts["delete"])),
            conform(table, pd.DataFrame(parts["insert"])),
        )
    changes = pd.DataFrame(document["changes"], columns=list(CHANGE_COLUMNS))
    for column in ("_kind", "_row"):
        changes[column] = None
    plan = Plan({}, changes, Problems(), None, None, writes)
    header = {k: document.get(k) for k in ("store_fingerprint", "inputs", "exit_code")}
    return plan, header
