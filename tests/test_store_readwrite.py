"""The store gives back exactly what it was given, whichever read path SQLite takes."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt

from userbatch.state import store as store_module
from userbatch.state.model import State
from userbatch.state.store import Store

ODD_TEXT = ['quote " and \\ backslash', "tab\tnew\nline\r", "ünïcödé ✓ 名前", "\x01ctl", None]


def _state() -> State:
    users = pd.DataFrame(
        {
            "user_principal_name": [f"u{i}@contoso.com" for i in range(len(ODD_TEXT))],
            "display_name": ODD_TEXT,
            "department": ["", "Sales", None, "x" * 5000, "d"],
        }
    )
    skus = pd.DataFrame(
        {"sku": ["E3", "E5"], "total_units": [10, 0], "grants_access": ["yes", None]}
    )
    return State({"users": users, "skus": skus})


def test_store_round_trip_keeps_odd_text_and_missing_values(tmp_path):
    store = Store.open(tmp_path / "s.db", create=True)
    store.replace_all(_state())
    loaded = store.load()
    with store.engine.connect() as conn:
        assert store_module._read_sqlite(conn, "users") is not None  # the bulk path ran
        by_rows = {
            n: store_module.conform(n, store_module._read_rows(conn, n)) for n in loaded.tables
        }
    for name, frame in loaded.tables.items():
        pdt.assert_frame_equal(frame, by_rows[name])
    pdt.assert_frame_equal(loaded.users, _state().users)
    assert loaded.skus["total_units"].tolist() == [10, 0]


def test_store_writes_leave_the_page_cache_as_it_was(tmp_path):
    store = Store.open(tmp_path / "s.db", create=True)
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    store.replace_all(_state())
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before
