"""The apply lock: never outlives its process (SPEC §5).

A SQLite store is locked with an OS file lock on ``<store>.lock`` (released by the kernel
when the process dies, even by SIGKILL), which also records who holds it. Other databases
use a PostgreSQL advisory lock held by the connection (it dies with the session).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from userbatch.errors import FatalError

ADVISORY_KEY = 0x75736572  # "user"


def holder(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": _os_user(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _describe(info: dict) -> str:
    return (
        f"run {info.get('run_id', '?')} (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
        f"user {info.get('user', '?')}, since {info.get('started', '?')})"
    )


@contextmanager
def apply_lock(store, run_id: str):
    """Hold the store's apply lock for the block, or fail at once naming the holder."""
    path = store.sqlite_path()
    if path is not None:
        with _file_lock(Path(str(path) + ".lock"), holder(run_id)):
            yield
    elif store.engine.dialect.name == "postgresql":
        with _advisory_lock(store.engine):
            yield
    else:
        yield


@contextmanager
def _file_lock(path: Path, info: dict):
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                current = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                current = {}
            raise FatalError(
                f"the store is locked by another apply: {_describe(current)}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(info))
        handle.flush()
        yield
        handle.seek(0)
        handle.truncate()
    finally:
        handle.close()  # closing releases the lock


@contextmanager
def _advisory_lock(engine: sa.Engine):
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
        if not got:
            raise FatalError("the store is locked by another apply (PostgreSQL advisory lock held)")
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
