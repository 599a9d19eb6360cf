"""The store loads on a thread of its own while the inputs are read and validated: the same
state and fingerprint as a load in turn, its errors where the plan begins, and a bad input
still ends with its own one-line error, the load given up and the store as it was."""

from __future__ import annotations

import threading

import pandas.testing as pdt
import pytest
from click.testing import CliRunner

from tests.engine.helpers import make_store, run
from userbatch import jobs
from userbatch.cli import cli
from userbatch.errors import FatalError
from userbatch.state import store as store_module
from userbatch.state.store import LoadStopped, Store

USERS = """
    user_principal_name,display_name,usage_location
    ann@contoso.example,Ann,US
"""


def _loads():
    return [t for t in threading.enumerate() if t.name == "state-load"]


def test_a_background_load_gives_the_state_and_fingerprint_of_a_load_in_turn(tmp_path):
    state = make_store(tmp_path, users="user_principal_name,display_name\nbo@x.example,Bo\n")
    store = Store.open(state)
    pending = store.start_load()
    loaded, fingerprint = pending.result()
    again, fingerprint_again = store.load_with_fingerprint()
    assert fingerprint == fingerprint_again and fingerprint
    for name, frame in again.tables.items():
        pdt.assert_frame_equal(loaded.tables[name], frame)
    assert loaded.users["user_principal_name"].tolist() == ["bo@x.example"]


def test_an_error_of_the_background_load_is_raised_where_its_result_is_asked(tmp_path, monkeypatch):
    state = make_store(tmp_path)
    store = Store.open(state)

    def broken(conn, stop=None):
        raise FatalError("state store unreadable")

    monkeypatch.setattr(store_module, "_read_tables", broken)
    pending = store.start_load()
    with pytest.raises(FatalError, match="unreadable"):
        pending.result()


def test_a_cancelled_load_stops_at_its_next_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "READ_BATCH_ROWS", 1)
    users = "user_principal_name\n" + "\n".join(f"u{i}@x.example" for i in range(50))
    store = Store.open(make_store(tmp_path, users=users))
    stop = threading.Event()
    stop.set()
    with pytest.raises(store_module.LoadStopped):
        store.load_with_fingerprint(stop)
    pending = store.start_load()
    pending.cancel()
    assert not _loads()
    assert LoadStopped.__doc__


def test_an_in_memory_store_loads_when_asked():
    store = Store.open("sqlite://", create=True)
    pending = store.start_load()
    assert pending._thread is None
    state, _ = pending.result()
    assert state.users.empty


def test_a_bad_input_ends_with_its_error_and_leaves_no_load_running(tmp_path):
    state = make_store(tmp_path, users="user_principal_name\nbo@x.example\n")
    before = (tmp_path / "state.db").read_bytes()
    bad = tmp_path / "users.csv"
    bad.write_bytes(b'user_principal_name,display_name\n"unclosed,quote\n')
    result = CliRunner().invoke(cli, ["plan", str(bad), "--state", str(state), "--quiet"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 3 and len(lines) == 1 and lines[0].startswith("error:")
    assert "Traceback" not in result.output
    assert not _loads()
    assert (tmp_path / "state.db").read_bytes() == before


def test_a_plan_after_a_background_load_reads_the_stored_users(tmp_path):
    state = make_store(tmp_path, users="user_principal_name,display_name\nann@contoso.example,A\n")
    result = run(tmp_path, state, users=USERS)
    assert result.plan.changes["change"].tolist() == ["update_user"]


def test_the_cli_lets_the_loaded_state_go_and_reports_the_same(tmp_path):
    state = make_store(tmp_path, users="user_principal_name,display_name\nann@contoso.example,A\n")
    kept = run(tmp_path, state, users=USERS, name="kept", apply=False)
    folder = tmp_path / "in-kept"
    let_go = jobs.run_plan(
        [folder / "users.csv"], state=state, report_dir=tmp_path / "let-go", keep_current=False
    )
    assert kept.plan.current is not None and let_go.plan.current is None
    for name in ("changes.csv", "results.csv", "problems.csv"):
        assert (kept.report_dir / name).read_bytes() == (let_go.report_dir / name).read_bytes()
