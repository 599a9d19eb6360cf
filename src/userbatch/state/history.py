"""Run history: every apply records who, when, what inputs, counts and exit code, and keeps
its changes and table writes (the rows it deleted, whole, and the keys of the rows it
inserted) so ``history`` can show and ``revert`` undo it.

Changes and writes are kept per run as Parquet blobs: one insert per table however large
the run, so history costs little next to the apply itself.
"""

from __future__ import annotations

import io
import json
import queue
import secrets
import socket
import threading
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from userbatch.errors import UsageError
from userbatch.frames import release_memory, repeats
from userbatch.state.lock import _os_user
from userbatch.state.model import TABLES
from userbatch.state.store import metadata

RUNS = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("command", sa.String), sa.Column("started_at", sa.String),
    sa.Column("finished_at", sa.String), sa.Column("os_user", sa.String), sa.Column("host", sa.String),
    sa.Column("inputs", sa.Text), sa.Column("counts", sa.Text), sa.Column("exit_code", sa.Integer),
    sa.Column("fingerprint_before", sa.String), sa.Column("fingerprint_after", sa.String),
    sa.Column("reverts", sa.String),
)  # fmt: skip
TRIM_EVERY = 10  # blobs inserted between two release_memory calls (1M: ~220 blobs)
BLOBS_AHEAD = 2  # blobs made and waiting to be inserted (one more may wait to join them)
BLOB_ROWS = 50_000  # rows per history blob: ~2.5 MB of Parquet of the change log, ~50 MB to build
RUN_BLOBS = sa.Table(
    "run_blobs", metadata,
    sa.Column("run_id", sa.String, primary_key=True), sa.Column("name", sa.String, primary_key=True),
    sa.Column("data", sa.LargeBinary),
)  # fmt: skip


def now() -> str:
    """UTC with microseconds, so runs in the same second still list in order."""
    stamp = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1e6):06d}Z"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def run_record(run_id: str, command: str, inputs, counts, exit_code: int, **extra) -> dict:
    return {
        "run_id": run_id, "command": command, "started_at": extra.pop("started_at", now()),
        "os_user": _os_user(), "host": socket.gethostname(),
        "inputs": json.dumps(inputs), "counts": json.dumps(counts), "exit_code": exit_code, **extra,
    }  # fmt: skip


def _blob(frame: pd.DataFrame) -> memoryview:
    """The frame as Parquet, each column in its own type: _frame reads every one back as
    text, so no text copy is made here (changes at 300k users: 1.7 s -> 0.5 s); categorical
    columns are written as dictionaries."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed Python objects
        table = pa.Table.from_pandas(frame.astype("str"), preserve_index=False)
    buffer = pa.BufferOutputStream()
    # Dictionaries only where values repeat, no statistics (a blob is read whole): the
    # change log's JSON made dictionaries that were then given up (1M users: ~2 s less).
    dictionary = [
        table.column_names[i]
        for i, column in enumerate(table.columns)
        if pa.types.is_dictionary(column.type) or repeats(column, sample_rows=1024)
    ]
    pq.write_table(table, buffer, use_dictionary=dictionary, write_statistics=False)
    return memoryview(buffer.getvalue())  # the Parquet bytes without a copy


def _frame(parts: list[bytes]) -> pd.DataFrame:
    frames = [pd.read_parquet(io.BytesIO(data)).astype("str") for data in parts]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


class RunBlobs:
    """A run's history, made while the store is written. A frame goes in blobs of BLOB_ROWS
    rows (``name``, ``name#1``, …): the change log alone is ~250 MB of Parquet at 1M users.

    The blobs are made on a thread of their own, BLOBS_AHEAD at most waiting, and the
    connection's thread inserts the ready ones whenever it calls ``insert_ready`` (between
    the store's write statements: Arrow makes the JSON and the Parquet mostly outside the
    GIL, while binding rows holds it) and the rest, and the run itself (``finished_at``:
    when its history is in), at ``finish``. ``fill_after(rows,
    start)`` makes the ``after`` texts the plan left to be made (Plan.lazy).
    ``changes_sink`` (``write(part)``, ``close()``), when given, gets the change log's parts
    with their ``after`` made, in order, on this thread (changes.csv: reports.ChangesCsv)."""

    def __init__(
        self, run: dict, changes: pd.DataFrame, writes: dict, fill_after=None, changes_sink=None
    ) -> None:
        self.run = run
        frames = [("changes", changes)]
        for table, (deleted, inserted) in writes.items():
            # Revert puts deleted rows back and deletes inserted ones by key; what the rows
            # held is in the changes' ``after`` (1M users: 1.2 s less Parquet, 80 MB less).
            key = list(TABLES[table][1])
            frames += [
                (f"delete:{table}", deleted),
                (f"insert:{table}", inserted.reindex(columns=key)),
            ]
        self._parts = [
            (f"{name}#{part}" if part else name, frame, start, name == "changes")
            for name, frame in frames
            for part, start in enumerate(range(0, max(len(frame), 1), BLOB_ROWS))
        ]
        self._fill = fill_after or (lambda part, start: part)
        self._sink = changes_sink
        self._ready: queue.Queue = queue.Queue(maxsize=BLOBS_AHEAD)
        self._stop = threading.Event()
        self._inserted, self._done = 0, False
        # A daemon: an interpreter leaving on an error does not wait for the blobs.
        self._thread = threading.Thread(target=self._make, name="history", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        try:
            sink = self._sink
            for name, frame, start, lazy in self._parts:
                if self._stop.is_set():
                    return
                rows = frame.iloc[start : start + BLOB_ROWS]
                if lazy:
                    rows = self._fill(rows, start)
                    if sink is not None:
                        sink.write(rows)
                elif sink is not None:  # the change log's parts come first: it is whole
                    sink.close()
                    sink = None
                self._put((name, _blob(rows)))
            if sink is not None:
                sink.close()
            self._put(None)
        except BaseException as exc:  # handed to the inserting thread
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def insert_ready(self, conn: sa.Connection, wait: bool = False) -> None:
        """Insert the blobs made so far (``wait``: every blob, waiting for them)."""
        while not self._done:
            try:
                item = self._ready.get(block=wait)
            except queue.Empty:
                return
            if item is None:
                self._done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                name, data = item
                conn.execute(
                    RUN_BLOBS.insert().values(run_id=self.run["run_id"], name=name, data=data)
                )
                self._inserted += 1
                if self._inserted % TRIM_EVERY == 0:
                    release_memory()  # freed Parquet buffers pile up over many blobs

    def finish(self, conn: sa.Connection) -> None:
        """Insert the rest of the blobs, waiting for them, and the run."""
        self.insert_ready(conn, wait=True)
        self._thread.join()
        conn.execute(RUNS.insert().values(**self.run, finished_at=now()))
        release_memory()

    def cancel(self) -> None:
        """Stop making blobs (the write failed, or they are all in) and let them go."""
        self._stop.set()
        while True:
            try:
                self._ready.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10)


def list_runs(store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(RUNS).order_by(RUNS.c.started_at, RUNS.c.run_id)).fetchall()
    return pd.DataFrame(rows, columns=[c.name for c in RUNS.columns])


def _blobs(store, run_id: str) -> dict[str, list[bytes]]:
    """The run's blobs by name, each a list of its parts in order."""
    with store.engine.connect() as conn:
        if conn.execute(sa.select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)).first() is None:
            raise UsageError(f"no run {run_id} in the history; see `userbatch history`")
        rows = conn.execute(sa.select(RUN_BLOBS).where(RUN_BLOBS.c.run_id == run_id)).fetchall()
    parts: dict[str, list[tuple[int, bytes]]] = {}
    for row in rows:
        name, _, part = row.name.partition("#")
        parts.setdefault(name, []).append((int(part or 0), row.data))
    return {name: [data for _, data in sorted(found)] for name, found in parts.items()}


def run_changes(store, run_id: str) -> pd.DataFrame:
    return _frame(_blobs(store, run_id)["changes"])


def run_writes(store, run_id: str) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    blobs = _blobs(store, run_id)
    tables = {name.split(":", 1)[1] for name in blobs if ":" in name}
    return {t: (_frame(blobs[f"delete:{t}"]), _frame(blobs[f"insert:{t}"])) for t in sorted(tables)}
