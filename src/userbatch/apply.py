"""Execute a plan in one transaction on the store; a crash leaves the store as it was."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from userbatch.errors import FatalError
from userbatch.passwords import generate_passwords
from userbatch.plan import Plan
from userbatch.state.store import META, Store


@dataclass
class ApplyResult:
    credentials: pd.DataFrame  # user_principal_name, password (R1: credentials.csv only)
    fingerprint_before: str | None
    fingerprint_after: str | None


def credentials_for(plan: Plan) -> pd.DataFrame:
    """R1: the input's password, or a generated one, for every tenant user created."""
    created = plan.changes[
        plan.changes["change"].eq("create_user") & plan.changes["entity"].eq("user")
    ]
    users = plan.frames["users"]
    rows = users[users["key"].isin(created["key"])]
    passwords = rows["password"].astype(object).to_numpy().copy()
    missing = pd.isna(passwords)
    passwords[missing] = generate_passwords(int(missing.sum()))
    return pd.DataFrame(
        {"user_principal_name": rows["user_principal_name"].to_numpy(), "password": passwords}
    )


def apply_plan(store: Store, plan: Plan, *, expected_fingerprint: str | None = None) -> ApplyResult:
    """Write ``plan.writes`` atomically; refuse when the store changed since it was planned."""
    credentials = credentials_for(plan)
    before = store.fingerprint()
    with store.transaction() as conn:
        now = conn.execute(META.select().where(META.c.key == "fingerprint")).fetchone()
        now = now.value if now else None
        if expected_fingerprint is not None and now != expected_fingerprint:
            raise FatalError("the store changed since this plan was made; plan again")
        store.write(plan.writes, conn)
    return ApplyResult(credentials, before, store.fingerprint())
