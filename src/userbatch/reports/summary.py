"""summary.json and the summary sheet of report.xlsx (SPEC §7)."""

from __future__ import annotations

import pandas as pd

from userbatch.reports.model import RunReport

SUMMARY_SHEET_COLUMNS = ("section", "name", "value")


def summary(report: RunReport, counts: list[dict]) -> dict:
    """The summary.json object: exit code, counts, inputs, store fingerprints, timings."""
    return {
        "command": report.command,
        "exit_code": int(report.exit_code),
        "counts": counts,
        "inputs": [{"path": str(i["path"]), "sha256": i.get("sha256")} for i in report.inputs],
        "store_fingerprint_before": report.store_fingerprint_before,
        "store_fingerprint_after": report.store_fingerprint_after,
        "timings_s": {name: round(float(s), 3) for name, s in report.timings_s.items()},
    }


def summary_sheet(summary: dict, notes: list[str] = ()) -> pd.DataFrame:
    """summary.json as a three-column table a person reads in Excel."""
    rows = [("run", "command", summary["command"]), ("run", "exit_code", summary["exit_code"])]
    for name in ("store_fingerprint_before", "store_fingerprint_after"):
        rows.append(("run", name, summary[name]))
    rows += [("input", i["path"], i["sha256"]) for i in summary["inputs"]]
    for count in summary["counts"]:
        section = "change" if "change" in count else "outcome"
        rows.append((section, f"{count['entity']}: {count[section]}", count["count"]))
    rows += [("timing_s", name, seconds) for name, seconds in summary["timings_s"].items()]
    rows += [("note", "", note) for note in notes]
    return pd.DataFrame(rows, columns=SUMMARY_SHEET_COLUMNS, dtype=object)
