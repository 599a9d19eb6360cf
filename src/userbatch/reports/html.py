"""report.html: one self-contained page an administrator reads in the morning (SPEC §7).

Inline CSS and script, no network: a Content-Security-Policy forbids every fetch, and the
script runs only because its hash is listed, so even a value that slipped past escaping
could not execute. jinja2 autoescapes every value. At scale (issue "Scale") the page
shows the summary and the first rows of each table, with a pointer to the CSVs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2
import pandas as pd

from userbatch.reports.model import DEFAULT_HTML_MAX_ROWS, RunReport
from userbatch.reports.tables import ChunkedTable
from userbatch.vocabulary import LEVEL_RANK, OUTCOMES

TEMPLATE = "report.html.j2"
# SPEC §6, said in words next to the number.
EXIT_MEANINGS = {
    0: "done",
    1: "fatal",
    2: "usage",
    3: "input rejected",
    4: "partial",
    5: "pending changes",
}
# The tables the page lists, in order, with their headings.
# Problems first: what needs a person's attention comes before what changed.
TABLES = {"problems": "Problems", "changes": "Changes"}
SEAT_KEYS = ("sku", "used", "total")
# Column layout on the page: long text wraps in a wide column, short codes never wrap.
WIDE_COLUMNS = ("before", "after", "message")
WRAPPING_COLUMNS = ("key", "value", "source_file", "source_sheet")
ENVIRONMENT_KEYS = ("environment", "enabled", "disabled", "stub", "non_interactive", "application")
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def write_report_html(
    path: str | Path,
    report: RunReport,
    summary: dict,
    tables: dict[str, pd.DataFrame | ChunkedTable | None],
    max_rows: int | None = DEFAULT_HTML_MAX_ROWS,
    *,
    now: datetime | None = None,
) -> Path:
    """Write report.html for ``report`` (a RunReport) and return its path.

    ``summary`` is the summary.json object; ``tables`` the report tables by name (the
    changes and problems ones are listed, each capped at ``max_rows``; None: all rows).
    Credentials are never given to the page, so no password can appear (R1).
    """
    path = Path(path)
    path.write_text(render_report_html(report, summary, tables, max_rows, now=now), "utf-8")
    return path


def render_report_html(
    report: RunReport,
    summary: dict,
    tables: dict[str, pd.DataFrame | ChunkedTable | None],
    max_rows: int | None = DEFAULT_HTML_MAX_ROWS,
    *,
    now: datetime | None = None,
) -> str:
    """The page as text; see ``write_report_html``."""
    template, script_hash = _template()
    exit_code = int(summary["exit_code"])
    return template.render(
        command=summary["command"],
        exit_code=exit_code,
        exit_meaning=EXIT_MEANINGS.get(exit_code, "unknown"),
        status=_status(exit_code),
        written=(now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        inputs=summary["inputs"],
        fingerprints=(summary["store_fingerprint_before"], summary["store_fingerprint_after"]),
        timings=summary["timings_s"],
        change_counts=[c for c in summary["counts"] if "change" in c],
        outcomes=outcome_table(summary["counts"]),
        problem_levels=problem_levels(tables.get("problems")),
        seats=[_seat(s) for s in report.seats],
        environments=[_environment(e) for e in report.environments],
        tables=[
            _listing(name, title, tables.get(name), max_rows) for name, title in TABLES.items()
        ],
        script_hash=script_hash,
    )


def outcome_table(counts: list[dict]) -> dict:
    """Input rows per entity and outcome: ``{"columns": [...], "rows": [[entity, n…, total]]}``.

    Only the outcomes that occur are columns, in the SPEC's order.
    """
    cells: dict[str, dict[str, int]] = {}
    for count in counts:
        if "outcome" in count:
            row = cells.setdefault(str(count["entity"]), {})
            row[str(count["outcome"])] = row.get(str(count["outcome"]), 0) + int(count["count"])
    present = {o for row in cells.values() for o in row}
    columns = [o for o in OUTCOMES if o in present] + sorted(present - set(OUTCOMES))
    rows = [
        [entity, *[row.get(o, 0) for o in columns], sum(row.values())]
        for entity, row in cells.items()
    ]
    return {"columns": columns, "rows": rows}


def problem_levels(problems: pd.DataFrame | None) -> dict[str, int]:
    """Problems per level, worst first (errors, warnings, info, then any other)."""
    if problems is None or problems.empty:
        return {}
    sizes = problems["level"].fillna("unknown").astype("str").value_counts()
    order = sorted(sizes.index, key=lambda level: (-LEVEL_RANK.get(level, -1), level))
    return {level: int(sizes[level]) for level in order}


def seat_usage(licenses: pd.DataFrame, skus: pd.DataFrame) -> list[dict]:
    """Seats per SKU, for RunReport.seats: {"sku", "used", "total"} in the skus' order.

    ``licenses`` has a ``sku`` column (one row per assigned seat), ``skus`` has ``sku`` and
    ``total_units``; a licensed SKU missing from ``skus`` is listed with total None.
    """
    used = licenses["sku"].dropna().astype("str").value_counts()
    totals = dict(zip(skus["sku"].astype("str"), skus["total_units"], strict=True))
    names = list(totals) + sorted(set(used.index) - set(totals))
    return [
        {"sku": name, "used": int(used.get(name, 0)), "total": _int_or_none(totals.get(name))}
        for name in names
    ]


def environment_counts(environment_users: pd.DataFrame) -> list[dict]:
    """Users per environment, for RunReport.environments (vectorized over the table).

    enabled/disabled count ``status``; stub and application count ``user_type``;
    non_interactive counts ``access_mode`` non-interactive.
    """
    frame = environment_users
    flags = pd.DataFrame(
        {
            "environment": frame["environment"].astype("str"),
            "enabled": frame["status"].eq("enabled"),
            "disabled": frame["status"].eq("disabled"),
            "stub": frame["user_type"].eq("stub"),
            "non_interactive": frame["access_mode"].eq("non-interactive"),
            "application": frame["user_type"].eq("application"),
        }
    )
    sums = flags.fillna(False).groupby("environment", sort=True).sum()
    return [
        {"environment": env, **{k: int(v) for k, v in row.items()}} for env, row in sums.iterrows()
    ]


def _listing(
    name: str, title: str, table: pd.DataFrame | ChunkedTable | None, max_rows: int | None
) -> dict:
    """One table for the page: its first ``max_rows`` rows as text, and how many there are."""
    if table is None:
        return {"name": name, "title": title, "total": 0, "absent": True}
    shown = table.head(len(table) if max_rows is None else max_rows)
    text = shown.astype(object).where(shown.notna(), "")
    levels = text["level"] if "level" in text else pd.Series("", index=text.index)
    rows = [
        {"cells": [str(v) for v in cells], "level": level}
        for cells, level in zip(text.itertuples(index=False, name=None), levels, strict=True)
    ]
    return {
        "name": name,
        "title": title,
        "columns": list(table.columns),
        "classes": [_column_class(c) for c in table.columns],
        "rows": rows,
        "total": len(table),
        "absent": False,
    }


def _column_class(column: str) -> str:
    if column in WIDE_COLUMNS:
        return "wide"
    return "wrap" if column in WRAPPING_COLUMNS else "code"


def _seat(seat: dict) -> dict:
    """A seat bar: the share used (capped at 100% for the width) and a level for its colour."""
    used, total = int(seat.get("used") or 0), _int_or_none(seat.get("total"))
    if total is None or total <= 0:
        share = 1.0 if used else 0.0
        level = "over" if used else "ok"
    else:
        share = used / total
        level = "over" if used > total else "full" if share >= 0.9 else "ok"
    return {
        "sku": str(seat["sku"]),
        "used": used,
        "total": total,
        "width": round(min(share, 1.0) * 100, 1),
        "percent": None if total is None or total <= 0 else round(share * 100),
        "level": level,
        "over": used - total if total is not None and used > total else 0,
    }


def _environment(row: dict) -> dict:
    return {k: row.get(k, "") for k in ENVIRONMENT_KEYS}


def _status(exit_code: int) -> str:
    """The colour of the exit badge: good, attention (partial, pending) or bad."""
    return {0: "good", 4: "attention", 5: "attention"}.get(exit_code, "bad")


def _int_or_none(value) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def _thousands(value) -> str:
    return f"{int(value):,}"


@cache
def _template() -> tuple[jinja2.Template, str]:
    """The compiled template and the CSP hash of its one inline script."""
    source = files("userbatch.reports").joinpath(TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True,  # every value is text on the page, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = _thousands
    template = env.from_string(source)
    # The script is static template text: render it alone to hash exactly what is served.
    script = _SCRIPT.search(source)
    digest = hashlib.sha256(script.group(1).encode("utf-8")).digest() if script else b""
    return template, "sha256-" + base64.b64encode(digest).decode("ascii")
