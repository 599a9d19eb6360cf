"""The environment state store over SQLAlchemy Core: a SQLite file by default, any URL works.

Bulk reads and writes go through DataFrames. Every write happens in one transaction and
changes the store fingerprint, which saved plans compare against.
"""

from __future__ import annotations

import io
import os
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pj
import sqlalchemy as sa

from userbatch.errors import FatalError, StoreMissingError
from userbatch.frames import by_chunk, is_text, release_memory, repeats
from userbatch.state.model import INT_COLUMNS, TABLES, State, conform

SCHEMA_VERSION = "1"
DEFAULT_STATE = "userbatch.db"
# SQLite page cache for a write transaction: the 2 MiB default sent most index pages of
# unordered inserts to the OS (300k users: 15.1 s with it, 10.3 s with 64 MiB). Writes go
# in key order now, and 16 MiB costs no more CPU than 128 MiB did (7.4-7.7 s both) while
# holding 110 MiB less.
WRITE_CACHE_KIB = 16384
# Rows per INSERT statement: one statement step per row cost the narrow tables half their
# write time (memberships: 0.47 -> 0.23 s per 300k rows); MAX_BOUND keeps the bound
# parameters under SQLite's oldest limit (999).
ROWS_PER_INSERT = 64
MAX_BOUND = 999
CHUNK_CELLS = 200_000  # cells per executemany: their Python objects take ~20 MiB
# Rows read and parsed at a time: the chunk's text (~6 MB of users) and the parser's scratch
# are what a load holds above the frames (1M users, peak over the RSS after the load:
# +125 MiB at 100k rows a chunk, +45 MiB at 25k; CPU the same).
READ_BATCH_ROWS = 25_000
CSV_BLOCK_BYTES = 1 << 20  # several blocks per chunk: Arrow parses them on both cores
RELEASE_BYTES = 1 << 25  # text parsed between two hand-backs of the parser's scratch
CANCEL_WAIT_S = 10  # how long a cancelled load is waited for
QUEUED_CHUNKS = 2  # chunks fetched ahead of the parser: more evens out their times, holds text
NEWLINE = ord("\n")
FIRST_ROWID = -(2**63)  # below every rowid

metadata = sa.MetaData()
META = sa.Table(
    "meta", metadata, sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.Text)
)


def _table(name: str) -> sa.Table:
    columns, key = TABLES[name]
    cols = [
        sa.Column(c, sa.Integer if (name, c) in INT_COLUMNS else sa.Text, nullable=c not in key)
        for c in columns
    ]
    return sa.Table(name, metadata, *cols, sa.PrimaryKeyConstraint(*key))


SQL_TABLES = {name: _table(name) for name in TABLES}


def state_url(state: str | os.PathLike | None) -> str:
    """``--state`` / USERBATCH_STATE as a SQLAlchemy URL: a plain path means SQLite."""
    text = str(state or os.environ.get("USERBATCH_STATE") or DEFAULT_STATE)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


class Store:
    """An open store. ``load()`` reads a State, ``write()`` applies table writes atomically."""

    def __init__(self, url: str, engine: sa.Engine) -> None:
        self.url = url
        self.engine = engine

    @classmethod
    def open(cls, state: str | os.PathLike | None = None, *, create: bool = False) -> Store:
        url = state_url(state)
        path = _sqlite_path(url)
        if path is not None and not path.exists() and not create:
            raise StoreMissingError(f"no state store at {path}; create one with `userbatch init`")
        try:
            # A writer waits for readers to finish (a million-user load takes seconds)
            # instead of failing with "database is locked" after pysqlite's 5 s.
            options = {"connect_args": {"timeout": 120}} if path is not None else {}
            engine = sa.create_engine(url, **options)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise FatalError(f"cannot open state store {url}: {exc}") from None
        store = cls(url, engine)
        if not create and not store._has_schema():
            raise StoreMissingError(f"no userbatch state in {url}; create it with `userbatch init`")
        import userbatch.state.history  # noqa: F401 - its tables belong to the schema

        metadata.create_all(engine)
        store._check_version()
        return store

    def _has_schema(self) -> bool:
        try:
            return sa.inspect(self.engine).has_table("meta")
        except sa.exc.SQLAlchemyError as exc:
            raise FatalError(
                f"cannot open state store {self.url}: {exc.__class__.__name__}"
            ) from None

    def _check_version(self) -> None:
        version = self.meta("schema_version")
        if version not in (None, SCHEMA_VERSION):
            raise FatalError(f"state store schema version {version} is not {SCHEMA_VERSION}")

    def sqlite_path(self) -> Path | None:
        return _sqlite_path(self.url)

    def meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(META.c.value).where(META.c.key == key)).scalar()

    def fingerprint(self) -> str | None:
        return self.meta("fingerprint")

    def set_run_fingerprint(self, run_id: str, fingerprint: str | None) -> None:
        from userbatch.state.history import RUNS

        with self.engine.begin() as conn:
            conn.execute(
                RUNS.update().where(RUNS.c.run_id == run_id).values(fingerprint_after=fingerprint)
            )

    def load(self) -> State:
        return self.load_with_fingerprint()[0]

    def load_with_fingerprint(
        self, stop: threading.Event | None = None
    ) -> tuple[State, str | None]:
        """The state and its fingerprint, read in one read transaction: an apply committing
        meanwhile cannot mix its tables with older ones, nor pair them with its fingerprint.
        ``stop`` set: the load ends at its next chunk with ``LoadStopped``."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite opens none for SELECTs by itself
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                fingerprint = conn.execute(
                    sa.select(META.c.value).where(META.c.key == "fingerprint")
                ).scalar()
                frames = _read_tables(conn, stop)
            finally:
                conn.rollback()
        return State.conformed(frames), fingerprint

    def start_load(self) -> PendingLoad:
        """``load_with_fingerprint`` on a thread of its own, so the caller can read and
        validate its inputs meanwhile: SQLite and the parser mostly run outside the GIL.
        An in-memory SQLite store is one connection per thread: it loads when asked."""
        if self.url.startswith("sqlite") and _sqlite_path(self.url) is None:
            return PendingLoad(self.load_with_fingerprint)
        return PendingLoad(self.load_with_fingerprint, background=True)

    def is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return all(
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() == 0
                for t in SQL_TABLES.values()
            )

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction that ends with a new fingerprint (or rolls back)."""
        with self.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
                conn.exec_driver_sql(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            try:
                yield conn
                _set_meta(conn, schema_version=SCHEMA_VERSION, fingerprint=uuid.uuid4().hex)
            finally:
                if sqlite:  # the pooled connection gives the pages back
                    conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")

    def replace_all(self, state: State) -> None:
        """Make the store hold exactly ``state`` (init --from, init --force)."""
        with self.transaction() as conn:
            for name, table in SQL_TABLES.items():
                conn.execute(table.delete())
                _insert(conn, name, state.tables[name])

    def write(
        self, writes: dict[str, tuple[pd.DataFrame, pd.DataFrame]], conn=None, between=None
    ) -> None:
        """Apply ``{table: (rows to delete by key, rows to insert)}`` in one transaction;
        ``between()`` is called between its statements' chunks (on this connection's
        thread: it may run statements of its own)."""
        if conn is None:
            with self.transaction() as conn:
                self.write(writes, conn, between)
            return
        for name, (deletes, inserts) in writes.items():
            _delete_keys(conn, name, deletes, between)
            _insert(conn, name, inserts, between)
            release_memory()  # a table's row tuples and sort order, before the next one's


class LoadStopped(Exception):
    """A background load given up (``PendingLoad.cancel``)."""


class PendingLoad:
    """A state load under way (``Store.start_load``): ``result()`` waits for it and returns
    (state, fingerprint) or raises what it raised; ``cancel()`` ends it early and waits."""

    def __init__(self, load, *, background: bool = False) -> None:
        self._load, self._stop = load, threading.Event()
        self._outcome: tuple[bool, object] | None = None
        self._thread = None
        if background:
            # A daemon: an interpreter leaving on an error does not wait for the load.
            self._thread = threading.Thread(target=self._run, name="state-load", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = (True, self._load(self._stop))
        except BaseException as exc:  # handed to result()'s caller
            self._outcome = (False, exc)

    def result(self) -> tuple[State, str | None]:
        if self._thread is None:
            return self._load(self._stop)
        self._thread.join()
        (done, value), self._outcome = self._outcome, None  # the caller holds the state
        if not done:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the load at its next chunk and wait for it a while (a daemon thread: one
        still waiting on a locked store does not hold the interpreter's exit)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CANCEL_WAIT_S)
        self._outcome = None


def _set_meta(conn: sa.Connection, **values: str) -> None:
    for key, value in values.items():
        conn.execute(META.delete().where(META.c.key == key))
        conn.execute(META.insert().values(key=key, value=value))


# Bulk reads and writes go through the DB-API cursor with whole columns: SQLAlchemy's
# per-row result and parameter processing cost more than the database itself here.
def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _placeholders(conn: sa.Connection, count: int) -> str:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return ", ".join("?" * count)
    if style == "numeric":
        return ", ".join(f":{i + 1}" for i in range(count))
    return ", ".join(["%s"] * count)  # format / pyformat (psycopg)


def _column(name: str, column: str, values) -> pd.Series:
    if (name, column) in INT_COLUMNS:
        if isinstance(values, pa.Array):
            values = values.to_numpy(zero_copy_only=False)
        return pd.Series(values, dtype="float64")
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.large_string())
    return values.to_pandas().astype("str")


def _read_tables(conn: sa.Connection, stop=None) -> dict[str, pd.DataFrame]:
    """Every table of ``TABLES``, conformed."""
    frames = {}
    if conn.dialect.name == "sqlite":
        try:
            frames = _read_sqlite_tables(conn, list(TABLES), stop=stop)
        except (conn.dialect.dbapi.Error, UnicodeDecodeError):
            frames = {}  # e.g. an SQLite without JSON functions; the row path reads (or fails)
    for name in TABLES:
        if stop is not None and stop.is_set():
            raise LoadStopped
        if frames.get(name) is None:
            frames[name] = conform(name, _read_rows(conn, name))
    return frames


def _arrow_types(name: str) -> dict[str, pa.DataType]:
    columns, _ = TABLES[name]
    return {c: pa.int64() if (name, c) in INT_COLUMNS else pa.large_string() for c in columns}


def _read_sqlite(conn: sa.Connection, name: str) -> pd.DataFrame | None:
    """One table by the bulk path, as stored (not conformed); None where the row path must
    read it."""
    return _read_sqlite_tables(conn, [name], finish=False)[name]


def _read_sqlite_tables(
    conn: sa.Connection, names: list[str], finish: bool = True, stop=None
) -> dict[str, pd.DataFrame | None]:
    """Read tables in chunks of rows that SQLite writes as JSON arrays, one a line, and Arrow
    parses in bulk: one Python object per chunk, not one per cell.

    This thread only runs SQL; one worker parses each chunk, then joins and conforms each
    table, while SQLite writes the next chunk, of this table or the next (1M users: ~1.6 s
    of CPU each side). A table is None when it is empty or a chunk does not parse; the row
    path reads it then."""
    cursor = conn.connection.cursor()
    parser, futures, queued = _Parser(), {}, deque()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            for name in names:
                parts = []
                for text, is_json in _chunk_texts(conn, cursor, name):
                    if stop is not None and stop.is_set():
                        raise LoadStopped
                    if len(queued) >= QUEUED_CHUNKS:
                        # A queue without end would hold a table's whole text whenever SQLite
                        # runs ahead of the parser.
                        _wait(queued.popleft())
                    queued.append(pool.submit(parser.parse, name, text, is_json))
                    parts.append(queued[-1])
                    del text
                futures[name] = pool.submit(parser.frame, name, parts, finish)
            frames = {name: _result(future) for name, future in futures.items()}
    finally:
        cursor.close()
    release_memory()  # what the last tables freed: the plan that follows starts lean
    return frames


def _wait(future) -> None:
    try:
        future.result()
    except pa.ArrowInvalid:
        pass  # the table's frame comes out None, the row path reads it


def _result(future) -> pd.DataFrame | None:
    try:
        return future.result()
    except pa.ArrowInvalid:
        return None


def _chunk_texts(conn: sa.Connection, cursor, name: str) -> Iterator[tuple[bytes, bool]]:
    """The table's chunks in rowid order: their text, and whether it holds JSON objects
    rather than arrays. SQL runs here, in the caller's thread: the connection is its."""
    columns, _ = TABLES[name]
    chunk_sql = (
        f"SELECT CAST(group_concat(line, char(10)) AS BLOB), max(r) FROM (SELECT json_array("
        f"{', '.join(_quote(conn, c) for c in columns)}) AS line, rowid AS r "
        f"FROM {_quote(conn, name)} WHERE rowid > ? ORDER BY rowid LIMIT {READ_BATCH_ROWS})"
    )
    last = FIRST_ROWID
    while True:
        text, end = cursor.execute(chunk_sql, (last,)).fetchone()
        if text is None:
            return
        if b"\\" in text:  # an escaped character: CSV cannot read it, Arrow's JSON reader can
            yield _json_objects(conn, name, last, end), True
        else:
            yield text, False
        del text
        last = end


class _Parser:
    """The worker's side of a load: parses chunks, with one byte buffer and one mask reused
    for every chunk (fresh ones per chunk cost their page faults each time)."""

    def __init__(self) -> None:
        self.raw = np.empty(0, dtype=np.uint8)
        self.mask = np.empty(0, dtype=bool)
        self.unreleased = 0

    def parse(self, name: str, text: bytes, is_json: bool) -> pa.Table:
        table = _parse_json(name, text) if is_json else self._lines(name, text)
        self._freed(len(text))
        return table

    def frame(self, name: str, parts: list, finish: bool) -> pd.DataFrame | None:
        """The parsed chunks as one frame, after the table's chunks."""
        tables = [part.result() for part in parts]  # done: the worker ran them first
        del parts[:]
        if not tables:
            return None
        columns, _ = TABLES[name]
        pieces = {
            c: [piece for table in tables for piece in table.column(c).chunks] for c in columns
        }
        del tables
        frame = pd.DataFrame({c: self._joined(name, c, pieces.pop(c)) for c in columns})
        return conform(name, frame) if finish else frame

    def _joined(self, name: str, column: str, pieces: list[pa.Array]) -> pd.Series:
        """A column's pieces joined into one array, and dropped, their pages handed back
        at once: a joined column does not fit in them, and the pool would keep them while
        the next columns join (1M users: peak +455 MiB; +480 MiB handing them back every
        32 MiB, +580 MiB never; the CPU the same within noise)."""
        joined = pa.chunked_array(pieces).combine_chunks()
        del pieces[:]
        release_memory()
        self.unreleased = 0
        return _column(name, column, joined)

    def _freed(self, size: int) -> None:
        """The pool keeps freed pages: the parser's scratch of a table's chunks would add up
        (1M users: +170 MiB peak); handing it back after every chunk costs the page faults
        of taking it again (0.6 s of CPU), so every RELEASE_BYTES of text."""
        self.unreleased += size
        if self.unreleased >= RELEASE_BYTES:
            release_memory()
            self.unreleased = 0

    def _lines(self, name: str, text: bytes) -> pa.Table:
        """JSON arrays without a backslash (no escaped character) are CSV lines once their
        brackets go: turned into line breaks, which the CSV reader skips as empty lines."""
        size = len(text)
        if len(self.raw) < size:
            self.raw = np.empty(size + size // 4, dtype=np.uint8)
            self.mask = np.empty(len(self.raw), dtype=bool)
        raw = self.raw[:size]
        raw[:] = np.frombuffer(text, dtype=np.uint8)
        breaks = np.flatnonzero(np.equal(raw, NEWLINE, out=self.mask[:size]))
        raw[[0, -1]] = NEWLINE
        raw[breaks - 1] = NEWLINE
        raw[breaks + 1] = NEWLINE
        columns, _ = TABLES[name]
        # The table does not point into ``raw``: the reader copies every value out.
        return pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(raw)),
            read_options=pcsv.ReadOptions(
                column_names=list(columns),
                block_size=CSV_BLOCK_BYTES,
            ),
            parse_options=pcsv.ParseOptions(double_quote=False, escape_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types=_arrow_types(name),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # "null" as text stays text; JSON null is NULL
                null_values=["null"],
                # SQLite gives back the UTF-8 our writes bound; checking it again was 3% of
                # the load's CPU.
                check_utf8=False,
            ),
        )


def _json_objects(conn: sa.Connection, name: str, after, end) -> bytes:
    """Rows ``after < rowid <= end`` as one JSON object each, a line each."""
    columns, _ = TABLES[name]
    pairs = ", ".join(f"'{c}', {_quote(conn, c)}" for c in columns)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(
            f"SELECT CAST(group_concat(line, char(10)) AS BLOB) FROM (SELECT json_object({pairs}) "
            f"AS line FROM {_quote(conn, name)} WHERE rowid > ? AND rowid <= ? ORDER BY rowid)",
            (after, end),
        )
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def _parse_json(name: str, text: bytes) -> pa.Table:
    options = pj.ParseOptions(
        explicit_schema=pa.schema(list(_arrow_types(name).items())),
        unexpected_field_behavior="error",
    )
    return pj.read_json(io.BytesIO(text), parse_options=options)


def _read_rows(conn: sa.Connection, name: str) -> pd.DataFrame:
    columns, _ = TABLES[name]
    cursor = conn.connection.cursor()
    try:
        cursor.execute(
            f"SELECT {', '.join(_quote(conn, c) for c in columns)} FROM {_quote(conn, name)}"
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    data = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({c: _column(name, c, v) for c, v in zip(columns, data, strict=True)})


def _row_chunks(table: pa.Table, key, blank=()) -> Iterator[np.ndarray]:
    """The rows in primary-key order, CHUNK_CELLS cells at a time, as 2-D arrays of the
    Python values the driver binds; missing values of the ``blank`` columns as "".

    Key order puts neighbouring writes on the same index pages (users at 300k: executemany
    2.5 s -> 1.6 s of CPU) and is the order a later load reads them back in; chunks keep
    only that many Python objects alive, not the whole write's (GiBs at 1M users). A column
    that repeats its values makes one Python object per distinct value, not one per cell."""
    order = pc.sort_indices(table.select(list(key)), sort_keys=[(k, "ascending") for k in key])
    order = order.to_numpy()
    repeating = {i for i, column in enumerate(table.columns) if repeats(column)}
    batches = table.to_batches()
    step = max(1, CHUNK_CELLS // max(1, table.num_columns))
    for start in range(0, len(order), step):
        chunk = _gathered(batches, order[start : start + step])
        cells = np.empty((chunk.num_rows, chunk.num_columns), dtype=object)
        for i, column in enumerate(chunk.columns):
            if i in blank:
                column = pc.fill_null(column, "")
            cells[:, i] = _objects(column, i in repeating)
        yield cells


def _objects(column: pa.Array, repeating: bool) -> np.ndarray:
    """A column's values as Python objects (None where missing): text by Arrow's conversion
    to numpy, a repeating column's by its dictionary (one object per distinct value)."""
    if not is_text(column.type):
        return np.array(column.to_pylist(), dtype=object)  # Python numbers, no numpy scalars
    if not repeating:
        return column.to_numpy(zero_copy_only=False)
    encoded = column.dictionary_encode()
    values = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    return values[encoded.indices.fill_null(len(values) - 1).to_numpy()]


def _gathered(batches: list[pa.RecordBatch], rows: np.ndarray) -> pa.RecordBatch:
    """The table's ``rows`` (positions across ``batches``) in that order, taken batch by
    batch: a take from a chunked table concatenates every column whole first, once per
    take (users at 1M: ~110 takes of 22 columns, ~5 s and 0.3 GB)."""
    if len(batches) == 1:
        return batches[0].take(pa.array(rows, type=pa.int64()))
    groups, back = by_chunk([b.num_rows for b in batches], rows)
    pieces = [batches[i].take(pa.array(local, type=pa.int64())) for i, local in groups]
    together = pa.Table.from_batches(pieces).combine_chunks().to_batches()[0]
    return together.take(pa.array(back, type=pa.int64()))


def _blankable(table: pa.Table) -> set[int]:
    """Text columns with missing values but no empty string: they are written as "" and
    the statement turns them back with NULLIF. Binding None costs the sqlite3 module ten
    times a string (a failed adapter lookup per cell)."""
    return {
        i
        for i, column in enumerate(table.columns)
        if is_text(column.type) and column.null_count and not pc.any(pc.equal(column, "")).as_py()
    }


def _executemany(conn: sa.Connection, statements: Iterator[tuple[str, list]], between=None) -> None:
    """Run each (statement, rows) for its rows, ``between()`` after each."""
    cursor = conn.connection.cursor()
    try:
        for sql, rows in statements:
            cursor.executemany(sql, rows)
            if between is not None:
                between()
    finally:
        cursor.close()


def _arrow(frame: pd.DataFrame, columns) -> pa.Table:
    return pa.Table.from_pandas(frame.reindex(columns=list(columns)), preserve_index=False)


def _insert(conn: sa.Connection, name: str, frame: pd.DataFrame, between=None) -> None:
    if frame is None or frame.empty:
        return
    columns, key = TABLES[name]
    table = _arrow(frame, columns)
    # A column missing in every row is left to its default, NULL (no column has another):
    # 4 of the users table's 22 columns at 1M users, cells the sqlite3 module never binds.
    empty = [c for c in columns if c not in key and table[c].null_count == len(table)]
    if empty:
        columns = [c for c in columns if c not in empty]
        table = table.select(columns)
    blank = _blankable(table)
    marks = _placeholders(conn, len(columns)).split(", ")
    values = ", ".join(f"NULLIF({m}, '')" if i in blank else m for i, m in enumerate(marks))
    insert = f"INSERT INTO {_quote(conn, name)} ({', '.join(_quote(conn, c) for c in columns)})"
    per = max(1, min(ROWS_PER_INSERT, MAX_BOUND // len(columns)))
    _executemany(conn, _grouped(insert, values, per, _row_chunks(table, key, blank)), between)


def _grouped(insert: str, values: str, per: int, chunks) -> Iterator[tuple[str, list]]:
    """(statement, rows) for each chunk of cells: ``per`` rows a statement, flattened into
    one sequence, then the rows left over one a statement."""
    one = f"{insert} VALUES ({values})"
    many = f"{insert} VALUES " + ", ".join([f"({values})"] * per)
    for cells in chunks:
        rows, width = cells.shape
        full = rows // per * per if per > 1 else 0
        if full:
            yield many, cells[:full].reshape(-1, per * width).tolist()
        if full < rows:
            yield one, cells[full:].tolist()


def _delete_keys(conn: sa.Connection, name: str, keys: pd.DataFrame, between=None) -> None:
    if keys is None or keys.empty:
        return
    _, key = TABLES[name]
    marks = _placeholders(conn, len(key)).split(", ")
    where = " AND ".join(f"{_quote(conn, c)} = {m}" for c, m in zip(key, marks, strict=True))
    sql = f"DELETE FROM {_quote(conn, name)} WHERE {where}"
    chunks = _row_chunks(_arrow(keys, key), key)
    _executemany(conn, ((sql, cells.tolist()) for cells in chunks), between)
