"""Bulk store reads and writes keep every value exactly, whichever fast path SQLite takes."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

from userbatch.state import store as store_module
from userbatch.state.model import TABLES, conform
from userbatch.state.store import Store

PLAIN = ["Sales", "a,b", "ünïcödé ✓ 名前", "null", "", None, "[x]", "'q'"]
ESCAPED = ['quote "x"', "back\\slash", "tab\tnew\nline\r", "\x01ctl"]


def _raw_users(path, values) -> None:
    """Rows written by SQL, so the store holds exactly these values ("" and NULL apart)."""
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO users (user_principal_name, department) VALUES (?, ?)",
            [(f"u{i:03d}@contoso.com", v) for i, v in enumerate(values)],
        )


def _frames(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    with store.engine.connect() as conn:
        return store_module._read_sqlite(conn, "users"), store_module._read_rows(conn, "users")


def test_bulk_read_keeps_empty_text_apart_from_null_and_text_that_looks_like_json(tmp_path):
    store = Store.open(tmp_path / "s.db", create=True)
    _raw_users(tmp_path / "s.db", PLAIN)
    bulk, rows = _frames(store)
    pdt.assert_frame_equal(bulk, rows)
    assert bulk["department"].iloc[4] == "" and pd.isna(bulk["department"].iloc[5])
    assert bulk["department"].iloc[3] == "null"


def test_bulk_read_across_chunks_with_and_without_escaped_characters(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "READ_BATCH_ROWS", 3)
    store = Store.open(tmp_path / "s.db", create=True)
    _raw_users(tmp_path / "s.db", PLAIN * 2 + ESCAPED + PLAIN)
    bulk, rows = _frames(store)
    pdt.assert_frame_equal(bulk, rows)
    assert bulk["user_principal_name"].tolist() == sorted(bulk["user_principal_name"])


@pytest.mark.parametrize("per_insert", [1, 5, 64])  # rows per INSERT: 5 leaves some over
def test_written_rows_read_back_the_same_with_missing_values_as_null(
    tmp_path, monkeypatch, per_insert
):
    monkeypatch.setattr(store_module, "CHUNK_CELLS", 50)  # several executemany chunks
    monkeypatch.setattr(store_module, "ROWS_PER_INSERT", per_insert)
    values = (PLAIN + ESCAPED) * 5
    upns = [f"u{i:03d}@contoso.com" for i in range(len(values))][::-1]  # not in key order
    users = pd.DataFrame(
        {
            "user_principal_name": upns,
            "department": values,
            "city": [None if i % 3 else "Oslo" for i in range(len(values))],
        }
    )
    store = Store.open(tmp_path / "s.db", create=True)
    store.write({"users": (None, users)})
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = dict(db.execute("SELECT user_principal_name, department FROM users"))
        nulls = db.execute("SELECT count(*) FROM users WHERE city IS NULL").fetchone()[0]
    assert stored == dict(zip(upns, values, strict=True))
    assert nulls == int(users["city"].isna().sum())
    loaded = store.load().users.sort_values("user_principal_name", ignore_index=True)
    expected = conform("users", users).sort_values("user_principal_name", ignore_index=True)
    pdt.assert_frame_equal(loaded, expected)


def test_delete_by_key_removes_only_those_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "CHUNK_CELLS", 4)
    roles = pd.DataFrame(
        {
            "user_principal_name": [f"u{i}@contoso.com" for i in range(10)],
            "role": ["Basic User"] * 10,
            "environment": ["sales", "apps"] * 5,
        }
    )
    store = Store.open(tmp_path / "s.db", create=True)
    store.write({"roles": (None, roles)})
    store.write({"roles": (roles.iloc[::3], None)})
    left = store.load().roles
    assert sorted(left["user_principal_name"]) == sorted(
        roles["user_principal_name"].drop(index=roles.index[::3])
    )
    assert list(left.columns) == list(TABLES["roles"][0])


def _many_tables(path) -> None:
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO users (user_principal_name, department, city) VALUES (?, ?, ?)",
            [(f"u{i:03d}@contoso.com", v, "" if i % 4 else None) for i, v in enumerate(PLAIN * 3)],
        )
        db.executemany(
            'INSERT INTO memberships ("group", member) VALUES (?, ?)',
            [(f"g{i % 3}", f"u{i:03d}@contoso.com") for i in range(20)],
        )
        db.executemany(
            "INSERT INTO environment_users (environment, user_name, title) VALUES (?, ?, ?)",
            [("sales", f"u{i:03d}@contoso.com", v) for i, v in enumerate(ESCAPED + PLAIN)],
        )
        db.executemany(
            "INSERT INTO skus (sku, total_units, grants_access) VALUES (?, ?, ?)",
            [("E3", 10, "yes"), ("E5", None, None)],
        )


def test_load_in_many_chunks_across_tables_matches_the_row_path(tmp_path, monkeypatch):
    # Chunks of every table queue behind each other in the parsing worker, the scratch is
    # handed back after every chunk, and one table holds escaped text (JSON objects).
    monkeypatch.setattr(store_module, "READ_BATCH_ROWS", 4)
    monkeypatch.setattr(store_module, "RELEASE_BYTES", 1)
    store = Store.open(tmp_path / "s.db", create=True)
    _many_tables(tmp_path / "s.db")
    loaded = store.load()
    with store.engine.connect() as conn:
        for name in TABLES:
            pdt.assert_frame_equal(
                loaded.tables[name], conform(name, store_module._read_rows(conn, name))
            )
    assert loaded.users["city"].isna().all()  # "" reads as missing, as conform makes it
    assert loaded.users["department"].eq("null").sum() == 3  # text "null" stays text
    assert loaded.skus["total_units"].tolist() == [10, 0]
    assert loaded.groups.empty and list(loaded.groups.columns) == ["name"]


def test_load_falls_back_to_rows_for_a_table_whose_chunk_does_not_parse(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "READ_BATCH_ROWS", 4)
    store = Store.open(tmp_path / "s.db", create=True)
    _many_tables(tmp_path / "s.db")
    parse = store_module._Parser.parse

    def failing(self, name, text, is_json):
        if name == "memberships":
            raise pa.ArrowInvalid("unreadable chunk")
        return parse(self, name, text, is_json)

    monkeypatch.setattr(store_module._Parser, "parse", failing)
    loaded = store.load()
    assert sorted(loaded.memberships["member"]) == [f"u{i:03d}@contoso.com" for i in range(20)]
    assert len(loaded.users) == len(PLAIN) * 3


def test_rows_inserted_from_several_chunks_are_stored_and_read_back_in_key_order(tmp_path):
    """The order a load (and export) gives back, and R12's tie-breaks, follow key order
    whatever Arrow chunks the planned rows came in."""

    def chunked(*parts):
        chunks = [pa.array(p, pa.large_string()) for p in parts]
        return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)))

    store = Store.open(tmp_path / "s.db", create=True)
    users = pd.DataFrame(
        {
            "user_principal_name": chunked(["d@x", "b@x"], ["e@x"], ["c@x", "a@x"]),
            "display_name": chunked(["D", "B"], ["E"], ["C", "A"]),
        }
    )
    store.write({"users": (pd.DataFrame(columns=["user_principal_name"]), users)})
    loaded = store.load().users
    assert loaded["user_principal_name"].tolist() == ["a@x", "b@x", "c@x", "d@x", "e@x"]
    assert loaded["display_name"].tolist() == ["A", "B", "C", "D", "E"]
