"""`apply --emit` through the CLI: a bad emit folder stops before anything is applied."""

from pathlib import Path

from click.testing import CliRunner

from userbatch.cli import cli
from userbatch.state.store import Store

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def apply_samples(tmp_path, *extra):
    """init from the sample snapshot, then apply the onboarding sample with ``extra`` options."""
    state = tmp_path / "s.db"
    runner = CliRunner()
    runner.invoke(cli, ["init", "--from", str(SAMPLES / "snapshot.xlsx"), "--state", str(state)])
    before = Store.open(state).fingerprint()
    result = runner.invoke(
        cli,
        ["apply", str(SAMPLES / "onboarding.xlsx"), "--env", "sales-prod", "--yes",
         "--state", str(state), *map(str, extra)],
    )  # fmt: skip
    return result, state, before


def test_emit_inside_report_folder_is_refused_before_apply(tmp_path):
    reports = tmp_path / "r"
    result, state, before = apply_samples(
        tmp_path, "--report-dir", reports, "--emit", reports / "emit"
    )
    assert result.exit_code == 2
    assert Store.open(state).fingerprint() == before


def test_apply_with_emit_writes_the_microsoft_files(tmp_path):
    result, _, _ = apply_samples(
        tmp_path, "--report-dir", tmp_path / "r", "--emit", tmp_path / "emit"
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "emit").iterdir())
    assert "README.txt" in names and "userbatch-changes.ps1" in names
    assert any(n.startswith("01-entra-bulk-create-users") for n in names)


def test_emit_rows_sets_the_users_per_entra_bulk_create_file(tmp_path):
    result, _, _ = apply_samples(
        tmp_path, "--report-dir", tmp_path / "r", "--emit", tmp_path / "emit", "--emit-rows", 4
    )
    assert result.exit_code == 0, result.output
    chunks = sorted((tmp_path / "emit").glob("01-entra-bulk-create-users-*.csv"))
    assert len(chunks) == 4  # 15 created users, 4 per file
    rows = [len(p.read_text().splitlines()) - 2 for p in chunks]
    assert rows == [4, 4, 4, 3]
