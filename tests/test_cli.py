"""The CLI as a user meets it: help, exit codes, one-line errors, the samples end to end."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from userbatch import __version__
from userbatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_text_and_a_readme_mention(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert len(cli.commands[command].help.strip()) > 20
    assert f"userbatch {command}" in (ROOT / "README.md").read_text()


def test_version():
    assert __version__ in invoke("--version").output


def test_samples_validate_clean_and_broken_set_is_partial_or_rejected(tmp_path):
    assert (
        invoke("validate", SAMPLES / "onboarding.xlsx", "--report-dir", tmp_path / "ok").exit_code
        == 0
    )
    assert (
        invoke("validate", SAMPLES / "onboarding", "--report-dir", tmp_path / "ok2").exit_code == 0
    )
    broken = invoke("validate", SAMPLES / "broken", "--report-dir", tmp_path / "b")
    assert broken.exit_code == 4
    strict = invoke("validate", SAMPLES / "broken", "--strict", "--report-dir", tmp_path / "s")
    assert strict.exit_code == 3


def _broken_fixes() -> list[dict]:
    text = (SAMPLES / "broken" / "README.md").read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(".csv"):
            rows.append(
                {
                    "file": cells[0],
                    "row": int(cells[1]),
                    "column": cells[2],
                    "fix": cells[5].strip("`"),
                }
            )
    return rows


def test_errors_file_fixed_in_the_named_cells_validates_clean(tmp_path):
    reports = tmp_path / "reports"
    invoke("validate", SAMPLES / "broken", "--report-dir", reports)
    errors = reports / "errors" / "users.csv"
    with open(errors, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fixes = {f["row"]: f for f in _broken_fixes() if f["file"] == "users.csv"}
    assert sorted(int(r["source_row"]) for r in rows) == sorted(fixes)
    for row in rows:
        fix = fixes[int(row["source_row"])]
        row[fix["column"]] = fix["fix"]
    fixed = tmp_path / "users-fixed.csv"
    with open(fixed, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = invoke("validate", fixed, "--report-dir", tmp_path / "again")
    assert result.exit_code == 0, (tmp_path / "again" / "problems.csv").read_text()


def test_main_job_on_the_samples_prints_the_summary(tmp_path):
    state = tmp_path / "userbatch.db"
    init = invoke("init", "--from", SAMPLES / "snapshot.xlsx", "--state", state)
    assert init.exit_code == 0, init.output
    result = invoke(
        "apply", SAMPLES / "onboarding.xlsx", "--env", "sales-prod", "--yes", "--state", state,
        "--report-dir", tmp_path / "r",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created 15 users" in result.output.lower()
    assert "created 5 stub users" in result.output
    status = invoke("status", "--state", state)
    assert "sales-prod (dynamics365)" in status.output
    again = invoke("plan", SAMPLES / "onboarding", "--env", "sales-prod", "--state", state, "--check",
                   "--report-dir", tmp_path / "r2")  # fmt: skip
    assert again.exit_code == 0, again.output


def test_plan_summary_ends_with_how_to_apply(tmp_path):
    state = tmp_path / "s.db"
    invoke("init", "--from", SAMPLES / "snapshot", "--state", state)
    result = invoke("plan", SAMPLES / "onboarding.xlsx", "--env", "sales-prod", "--state", state,
                    "--report-dir", tmp_path / "r", "--verbose")  # fmt: skip
    assert result.exit_code == 0
    assert "Would create 15 users" in result.output
    assert "userbatch apply" in result.output
    assert "create_stub stub Hannah Schmidt" in result.output  # --verbose: one line per change


def test_missing_store_is_one_line_naming_init_exit_1(tmp_path):
    result = invoke("plan", SAMPLES / "onboarding.xlsx", "--state", tmp_path / "none.db")
    assert result.exit_code == 1
    assert "userbatch init" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_several_environments_without_env_is_usage_error_2(tmp_path):
    state = tmp_path / "s.db"
    invoke("init", "--from", SAMPLES / "snapshot.xlsx", "--state", state)
    result = invoke(
        "plan", SAMPLES / "onboarding.xlsx", "--state", state, "--report-dir", tmp_path / "r"
    )
    assert result.exit_code == 2
    assert "--env" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.csv", b"\x00\x01\x02\xff\xfe binary \x00\x00"),
        ("empty.csv", b""),
        ("corrupt.xlsx", b"PK\x03\x04 not really a zip"),
        ("missing.csv", None),
    ],
)
def test_unreadable_input_is_one_line_exit_1(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = invoke("validate", path, "--report-dir", tmp_path / "r")
    assert result.exit_code == 1
    assert name in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_init_refuses_to_overwrite_without_force(tmp_path):
    state = tmp_path / "s.db"
    assert invoke("init", "--from", SAMPLES / "snapshot.xlsx", "--state", state).exit_code == 0
    again = invoke("init", "--from", SAMPLES / "snapshot.xlsx", "--state", state)
    assert again.exit_code == 2 and "--force" in again.output
    assert (
        invoke("init", "--from", SAMPLES / "snapshot.xlsx", "--state", state, "--force").exit_code
        == 0
    )


def test_init_adds_environment_and_skus(tmp_path):
    state = tmp_path / "s.db"
    assert invoke("init", "--state", state, "--env", "prod", "--kind", "powerapps",
                  "--security-group", "SG-Prod", "--sku", "APPS=5").exit_code == 0  # fmt: skip
    status = invoke("status", "--state", state, "--json")
    assert '"environment": "prod"' in status.output and '"total": 5' in status.output


def test_templates_command_writes_the_templates(tmp_path):
    result = invoke("templates", "--out", tmp_path / "t")
    assert result.exit_code == 0
    assert (tmp_path / "t" / "users.csv").read_text().startswith("user_principal_name")
    assert (tmp_path / "t" / "userbatch-template.xlsx").exists()


def test_microsoft_templates_validate_as_users(tmp_path):
    m365 = invoke("validate", SAMPLES / "microsoft" / "m365-add-multiple-users.csv", "--usage-location", "US",
                  "--report-dir", tmp_path / "m")  # fmt: skip
    assert m365.exit_code == 0, m365.output
    entra = invoke(
        "validate", SAMPLES / "microsoft" / "entra-bulk-create.csv", "--report-dir", tmp_path / "e"
    )
    assert entra.exit_code == 0, entra.output
    members = invoke("validate", SAMPLES / "microsoft" / "entra-bulk-add-members.csv", "--group", "SG-Apps-Dev",
                     "--report-dir", tmp_path / "g")  # fmt: skip
    assert members.exit_code == 0, members.output


def test_progress_draws_a_bar_on_a_terminal_and_plain_lines_otherwise(caplog):
    import io
    import logging

    from userbatch.logs import Progress, configure_logging

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    configure_logging()
    screen = Terminal()
    progress = Progress(screen)
    progress.start("validate")
    assert "2/5 validate" in screen.getvalue() and "█" in screen.getvalue()
    progress.done("validate", 1.5)
    assert screen.getvalue().endswith("\r\x1b[2K")  # the bar is cleared
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logging.getLogger("userbatch").addHandler(handler)
    Progress(io.StringIO()).done("plan", 2.25)
    assert "stage=plan seconds=2.250" in lines


def test_answering_no_applies_nothing_and_exits_1(tmp_path):
    from userbatch import jobs
    from userbatch.plan import PlanOptions
    from userbatch.state.store import Store

    state = tmp_path / "s.db"
    jobs.run_init(state, snapshot=SAMPLES / "snapshot.xlsx")
    before = Store.open(state).fingerprint()
    result = jobs.run_plan(
        [SAMPLES / "onboarding.xlsx"], state=state, options=PlanOptions(env="sales-prod"),
        report_dir=tmp_path / "r", apply=True, confirm=lambda plan: False,
    )  # fmt: skip
    assert result.exit_code == 1 and not result.applied
    assert "answered no" in result.messages[-1]
    assert Store.open(state).fingerprint() == before
