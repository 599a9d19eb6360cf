"""report.html: self-contained, escaped, capped at scale, and readable in a real browser."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from userbatch import jobs
from userbatch.plan import PlanOptions
from userbatch.problems import Problems
from userbatch.reports import write_reports
from userbatch.reports.html import environment_counts, render_report_html, seat_usage
from userbatch.reports.model import RunReport
from userbatch.reports.summary import summary
from userbatch.reports.tables import changes_table, counts, problems_table
from userbatch.vocabulary import CHANGE_COLUMNS

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ARTIFACTS = Path(__file__).parent / "artifacts"
HOSTILE = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def change_rows(n: int, **fields) -> pd.DataFrame:
    row = {
        "environment": "", "entity": "user", "change": "create_user", "before": "",
        "after": '{"department": "Sales"}', "rule": "R1", "source_file": "users.csv",
    }  # fmt: skip
    frame = pd.DataFrame({**row, **fields}, index=range(n))
    frame["key"] = [f"user{i}@contoso.example" for i in range(n)]
    frame["source_row"] = range(2, n + 2)
    return frame.reindex(columns=CHANGE_COLUMNS)


def problem_rows(*rows: dict) -> Problems:
    problems = Problems()
    where = {"source_file": "users.csv", "source_sheet": "", "source_row": 2, "entity": "user"}
    problems.add(pd.DataFrame([{**where, **row} for row in rows]))
    return problems


def render(report: RunReport, max_rows: int | None = 2_000) -> str:
    tables = {"changes": changes_table(report), "problems": problems_table(report)}
    return render_report_html(report, summary(report, counts(report)), tables, max_rows)


def test_page_loads_nothing_from_the_network():
    html = render(RunReport("plan", 0, changes=change_rows(3)))
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the browser itself refuses any fetch


def test_inline_script_is_the_only_one_allowed_to_run():
    html = render(RunReport("plan", 0, changes=change_rows(3)))
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html


def test_hostile_values_show_as_text():
    changes = change_rows(1, after=f'{{"department": "{HOSTILE}"}}')
    changes.loc[0, "key"] = FORMULA
    problems = problem_rows(
        {"source_file": f"{HOSTILE}.csv", "rule": "R5", "level": "warning", "message": HOSTILE}
    )
    inputs = [{"path": f"{HOSTILE}.csv", "sha256": "ab" * 32}]
    report = RunReport(HOSTILE, 4, changes=changes, problems=problems, inputs=inputs)
    report.seats = [{"sku": HOSTILE, "used": 1, "total": 2}]
    html = render(report)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=cmd|&#39; /C calc&#39;!A0" in html  # shown as written, not as a formula


def test_exit_code_is_said_in_words():
    assert "exit 4 · partial" in render(RunReport("apply", 4))
    assert "exit 5 · pending changes" in render(RunReport("plan", 5))
    assert "exit 3 · input rejected" in render(RunReport("validate", 3))


def test_inputs_show_their_sha256():
    inputs = [{"path": "users.csv", "sha256": "0f" * 32}]
    html = render(RunReport("plan", 0, inputs=inputs))
    assert "users.csv" in html and "0f" * 32 in html


def test_counts_per_entity_and_change_are_shown():
    changes = pd.concat(
        [change_rows(12), change_rows(30, entity="license", change="assign_license")]
    )
    html = render(RunReport("plan", 0, changes=changes))
    assert re.search(r"<td>license</td><td>assign_license</td><td[^>]*>30</td>", html)
    assert re.search(r"<td>user</td><td>create_user</td><td[^>]*>12</td>", html)
    assert re.search(r"all changes</td><td[^>]*>42</td>", html)


def test_long_tables_list_the_first_rows_and_point_to_the_csv():
    changes = change_rows(2_500)
    html = render(RunReport("plan", 0, changes=changes), max_rows=2_000)
    assert "showing the first 2,000 of 2,500 rows — see changes.csv for all" in html
    assert "user1999@contoso.example" in html
    assert "user2000@contoso.example" not in html
    assert "Changes <span" in html and "(2,500)" in html


def test_short_tables_have_no_pointer_line():
    html = render(RunReport("plan", 0, changes=change_rows(5)))
    assert "showing the first" not in html
    assert html.count("@contoso.example</td>") == 5


def test_a_million_changes_write_a_small_page_quickly():
    report = RunReport("plan", 0, changes=change_rows(1_000_000))
    tables = {"changes": changes_table(report), "problems": problems_table(report)}
    data = summary(report, [{"entity": "user", "change": "create_user", "count": 1_000_000}])
    started = time.perf_counter()
    html = render_report_html(report, data, tables)
    elapsed = time.perf_counter() - started
    assert "showing the first 2,000 of 1,000,000 rows" in html
    assert len(html) < 1_000_000
    assert elapsed < 2, elapsed  # about 0.1 s: only the first 2,000 rows are rendered


def test_seat_bars_show_used_of_total_per_sku():
    report = RunReport("plan", 0)
    report.seats = [
        {"sku": "DYN365_ENTERPRISE_SALES", "used": 15, "total": 30},
        {"sku": "POWERAPPS_PER_USER", "used": 25, "total": 20},
    ]
    html = render(report)
    assert "DYN365_ENTERPRISE_SALES" in html and "15 / 30 (50%)" in html
    assert 'style="width: 50.0%"' in html
    assert "25 / 20 (125%)" in html and "over by 5" in html
    assert 'class="over" style="width: 100.0%"' in html  # the bar stops at its end


def test_no_seat_data_is_said():
    assert "No seat data." in render(RunReport("validate", 0))


def test_seat_usage_counts_seats_per_sku_in_the_skus_order():
    licenses = pd.DataFrame({"sku": ["B", "A", "B", "C"]})
    skus = pd.DataFrame({"sku": ["A", "B", "D"], "total_units": [5, 2, 1]})
    assert seat_usage(licenses, skus) == [
        {"sku": "A", "used": 1, "total": 5},
        {"sku": "B", "used": 2, "total": 2},
        {"sku": "D", "used": 0, "total": 1},
        {"sku": "C", "used": 1, "total": None},
    ]


def test_environment_counts_are_listed_per_environment():
    users = pd.DataFrame(
        {
            "environment": ["sales", "sales", "sales", "dev"],
            "status": ["enabled", "disabled", "enabled", "enabled"],
            "user_type": ["interactive", "interactive", "stub", "application"],
            "access_mode": ["read-write", "read-write", "read-write", "non-interactive"],
        }
    )
    rows = environment_counts(users)
    assert rows == [
        {"environment": "dev", "enabled": 1, "disabled": 0, "stub": 0,
         "non_interactive": 1, "application": 1},
        {"environment": "sales", "enabled": 2, "disabled": 1, "stub": 1,
         "non_interactive": 0, "application": 0},
    ]  # fmt: skip
    report = RunReport("plan", 0)
    report.environments = rows
    assert "Users per environment" in render(report)


def test_problems_rows_are_marked_by_level():
    problems = problem_rows(
        {"rule": "R5", "level": "warning", "message": "nested group"},
        {"rule": "duplicate", "level": "error", "message": "seen twice"},
    )
    html = render(RunReport("plan", 4, problems=problems))
    assert 'class="level-warning"' in html and 'class="level-error"' in html


def test_write_reports_writes_report_html_without_any_password(tmp_path):
    credentials = pd.DataFrame(
        {"user_principal_name": ["ann@contoso.example"], "password": ["Secret-Pass-123!"]}
    )
    changes = change_rows(2, after='{"department": "Sales", "password": "Secret-Pass-123!"}')
    report = RunReport("apply", 0, changes=changes, credentials=credentials)
    folder = write_reports(report, tmp_path / "reports")
    html = (folder / "report.html").read_text("utf-8")
    assert "userbatch apply" in html
    assert "Secret-Pass-123!" not in html


# --- the samples in a real browser ---------------------------------------------------


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture
def sample_report(tmp_path) -> Path:
    """report.html of the sample onboarding plan against the sample snapshot."""
    state = tmp_path / "state.db"
    jobs.run_init(state, snapshot=SAMPLES / "snapshot.xlsx")
    result = jobs.run_plan(
        [SAMPLES / "onboarding.xlsx"], state=state, options=PlanOptions(env="sales-prod"),
        report_dir=tmp_path / "reports",
    )  # fmt: skip
    assert result.exit_code == 0
    return result.report_dir / "report.html"


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium)",
)
def test_sample_report_in_headless_chromium_shows_counts_and_seat_bars(sample_report, tmp_path):
    url = sample_report.resolve().as_uri()
    profile = tmp_path / "chromium-profile"
    screenshot = tmp_path / "report-html.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1280,2000", url, profile=profile)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    keep = Path(os.environ.get("USERBATCH_ARTIFACTS") or ARTIFACTS)
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, keep / "report-html.png")

    # The same page with "nested" typed in the problems' filter box: the script runs on load.
    typed = tmp_path / "report-typed.html"
    box = 'data-filter="problems-table"'
    typed.write_text(
        sample_report.read_text("utf-8").replace(box, f'value="nested" {box}'), "utf-8"
    )
    dom = chromium("--dump-dom", typed.resolve().as_uri(), profile=profile).stdout
    assert 'data-script="ran"' in dom  # the filter script passed the page's CSP
    assert "1 of 4 listed rows match" in dom
    problems = dom.split('id="problems-table"')[1].split("</table>")[0]
    assert problems.count(' hidden=""') == 3
    assert "exit 0 · done" in dom
    assert re.search(r"<td>user</td><td>create_user</td><td[^>]*>15</td>", dom)
    assert re.search(r"<td>license</td><td>assign_license</td><td[^>]*>28</td>", dom)
    assert re.search(r"all changes</td><td[^>]*>167</td>", dom)
    for sku in ("DYN365_ENTERPRISE_SALES", "POWERAPPS_PER_USER", "O365_BUSINESS_ESSENTIALS"):
        assert re.search(rf'<div class="sku">{sku}</div>\s*<div class="bar"', dom), sku
    assert "167 of 167 listed rows" in dom
    assert "nested in SG-Sales-Prod" in dom  # a problem row (R5)
