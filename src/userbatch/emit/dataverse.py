"""Dataverse import files for the Data Import Wizard: the records this run assigned.

The wizard maps one file to one table, so there is one file per environment and table:
record_id, the record's other input columns, and owner, resolved to the owning environment
user's user name (R12: a stub's user name is the owner as first written; importing the
record is what creates the stub in Dataverse, with its default role).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from userbatch.emit.entra import Entry, counted, file_slug, write_table
from userbatch.plan.changes import as_text
from userbatch.vocabulary import COLUMNS, SOURCE_COLUMNS

RECORD_FILE = "records-{environment}-{table}.csv"
RECORD_CHANGES = ("assign_record", "reassign_record")
_NOT_DATA = {*SOURCE_COLUMNS, *COLUMNS["records"], "key", "outcome", "entity", "_row"}


def record_rows(plan) -> pd.DataFrame:
    """One row per record change, in plan order: environment, table, record_id, extra
    columns, owner."""
    changes = plan.changes
    chosen = as_text(
        changes[changes["entity"].eq("record") & changes["change"].isin(RECORD_CHANGES)]
    )
    records = plan.planned.records
    records = records.set_axis(
        records["environment"] + "|" + records["table"] + "|" + records["record_id"]
    )
    planned = records.loc[~records.index.duplicated(keep="last")].reindex(chosen["key"].to_numpy())
    extra = _extra_columns(plan, chosen).set_axis(planned.index)
    out = pd.concat([planned[["environment", "table", "record_id"]], extra], axis=1)
    return out.assign(owner=planned["owner"]).reset_index(drop=True)


def _extra_columns(plan, chosen: pd.DataFrame) -> pd.DataFrame:
    """The record's other columns: from its input row, else (a record moved by R13, not in
    this run's input) from the JSON the store keeps."""
    inputs = plan.frames.get("records")
    from_input = chosen["_kind"].eq("records").fillna(False).to_numpy()
    if inputs is None or not from_input.any():
        columns: list[str] = []
        found = pd.DataFrame(index=range(len(chosen)))
    else:
        columns = [c for c in inputs.columns if c not in _NOT_DATA]
        # A change's _row is its input row's position (the plan's frames keep that index).
        by_row = inputs.set_index("_row") if "_row" in inputs else inputs.reset_index(drop=True)
        by_row = by_row[columns]
        rows = pd.to_numeric(chosen["_row"], errors="coerce").where(from_input)
        found = by_row.reindex(rows.to_numpy()).reset_index(drop=True)
    if from_input.all():
        return found
    stored = plan.planned.records
    data = stored.set_axis(
        stored["environment"] + "|" + stored["table"] + "|" + stored["record_id"]
    )
    data = data.loc[~data.index.duplicated(keep="last"), "data"]
    missing = ~from_input
    # Few rows (R13 moves only): per-row JSON is fine here.
    texts = data.reindex(chosen["key"].to_numpy()[missing])
    parsed = pd.DataFrame([json.loads(t) if isinstance(t, str) else {} for t in texts])
    parsed.index = found.index[missing]
    return found.combine_first(parsed)[columns + [c for c in parsed.columns if c not in columns]]


def write_records(out_dir: Path, plan) -> list[Entry]:
    rows = record_rows(plan)
    if rows.empty:
        return []
    rows = rows.assign(_file=file_slug(rows["environment"]) + "-" + file_slug(rows["table"]))
    entries = []
    for _, part in rows.groupby("_file", sort=False):
        environment, table = part["environment"].iloc[0], part["table"].iloc[0]
        # Columns empty for every row of this table are left out: nothing to map.
        body = part.drop(columns=["environment", "table", "_file"]).dropna(axis=1, how="all")
        name = RECORD_FILE.format(environment=file_slug(part["environment"]).iloc[0],
                                  table=file_slug(part["table"]).iloc[0])  # fmt: skip
        # BOM: Windows tools (Excel, the wizard's upload) then read the file as UTF-8.
        path = write_table(out_dir / name, [list(body.columns)], body, bom=True)
        entries.append(
            Entry(
                path,
                f"{counted(len(part), str(table) + ' record')} for environment {environment}: "
                "Power Apps > Settings > Data management > Imports > Import data "
                "(map owner to Owner; unmatched owners become stub users)",
            )
        )
    return entries
