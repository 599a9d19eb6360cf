"""Execute a plan in one transaction on the store; a crash leaves the store as it was."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.errors import FatalError
from userbatch.frames import isin, lookup, release_memory
from userbatch.passwords import password_array
from userbatch.plan import Plan
from userbatch.state.history import RunBlobs
from userbatch.state.store import META, Store


@dataclass
class ApplyResult:
    credentials: pd.DataFrame  # user_principal_name, password (R1: credentials.csv only)
    fingerprint_before: str | None
    fingerprint_after: str | None


def credentials_for(plan: Plan) -> pd.DataFrame:
    """R1: the input's password, or a generated one, for every tenant user created."""
    changes = plan.changes
    # Only the key column is filtered: the whole change log is millions of rows at scale.
    created = changes["key"][
        (changes["change"].eq("create_user") & changes["entity"].eq("user")).to_numpy()
    ]
    inserted = plan.writes.get("users", (None, pd.DataFrame(columns=["user_principal_name"])))[1]
    upn = inserted.loc[
        isin(inserted["user_principal_name"].str.lower(), created), "user_principal_name"
    ].astype("str")
    given = pd.Series(pd.NA, index=upn.index, dtype="str")
    users = plan.frames.get("users")
    if users is not None and "password" in users and len(users):
        by_key = (
            users.dropna(subset=["password"]).drop_duplicates("key").set_index("key")["password"]
        )
        given = lookup(upn.str.lower(), by_key).astype("str")
    # Arrow throughout: no Python object per user (240k users: 0.9 s -> 0.2 s).
    given = pa.array(given, type=pa.string(), from_pandas=True)
    missing = given.is_null()
    generated = password_array(pc.sum(missing).as_py() or 0)
    passwords = pc.replace_with_mask(given, missing, generated) if len(generated) else given
    return pd.DataFrame(
        {
            "user_principal_name": upn.reset_index(drop=True),
            "password": pd.Series(passwords, dtype="str"),
        }
    )


def apply_plan(
    store: Store,
    plan: Plan,
    *,
    expected_fingerprint: str | None = None,
    run: dict | None = None,
    changes_csv=None,
) -> ApplyResult:
    """Write ``plan.writes`` and the run's history atomically; refuse a store that changed
    since the plan was made. ``changes_csv`` (``reports.ChangesCsv``), with ``run``, gets
    the change log as the history makes it: changes.csv is written beside the store."""
    credentials = credentials_for(plan)
    release_memory()  # its temporaries, before the writes (1M users: ~0.2 GB)
    before = store.fingerprint()
    with store.transaction() as conn:
        now = conn.execute(META.select().where(META.c.key == "fingerprint")).fetchone()
        now = now.value if now else None
        if expected_fingerprint is not None and now != expected_fingerprint:
            raise FatalError("the store changed since this plan was made; plan again")
        if run is None:
            store.write(plan.writes, conn)
        else:
            # The history is made while the store is written, and goes in the same transaction.
            history = RunBlobs(
                {**run, "fingerprint_before": before},
                plan.report_changes(),
                plan.writes,
                fill_after=plan.lazy.fill,
                changes_sink=changes_csv,
            )
            try:
                store.write(plan.writes, conn, between=lambda: history.insert_ready(conn))
                history.finish(conn)
            finally:
                history.cancel()
    after = store.fingerprint()
    if run is not None:
        store.set_run_fingerprint(run["run_id"], after)
    return ApplyResult(credentials, before, after)
