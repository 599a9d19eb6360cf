"""Reconcile: the wanted state (inputs) against the current state (store) → one plan.

``make_plan`` never writes the store. Its ``Plan`` holds the changes in SPEC §7
vocabulary, the row outcomes, the problems, and the planned state that apply writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from userbatch.frames import isin, release_memory
from userbatch.plan.changes import CHANGE_COLUMNS
from userbatch.plan.context import PENDING, Context, PlanOptions, env_user_key, lower
from userbatch.plan.diff import table_writes
from userbatch.plan.memberships import plan_memberships
from userbatch.plan.mirror import plan_mirror
from userbatch.plan.rules.enablement import derive_environment_users
from userbatch.plan.rules.licenses import plan_licenses
from userbatch.plan.rules.profile import diff_environment_users, r10_violations, warn_primary_email
from userbatch.plan.rules.roles import plan_roles, role_key, warn_roleless
from userbatch.plan.rules.stubs import plan_records, reassign_stub_records
from userbatch.plan.users import plan_users
from userbatch.problems import Problems
from userbatch.state.model import State
from userbatch.vocabulary import KINDS

__all__ = ["Plan", "PlanOptions", "make_plan"]


@dataclass
class Plan:
    frames: dict[str, pd.DataFrame]  # kind frames with outcome changed/unchanged/…
    changes: pd.DataFrame  # CHANGE_COLUMNS (+ internal _kind, _row)
    problems: Problems
    current: State
    planned: State
    writes: dict

    @property
    def invitations(self) -> pd.DataFrame:
        """R6: users needing a new invitation."""
        rows = self.changes[self.changes["change"].eq("invitation_required")]
        return rows[["environment", "key"]].rename(columns={"key": "user_principal_name"})

    def report_changes(self) -> pd.DataFrame:
        return self.changes[list(CHANGE_COLUMNS)]

    def counts(self) -> pd.Series:
        """Changes per (entity, change), for the terminal summary."""
        return self.changes.groupby(["change", "entity"], sort=False).size()


def make_plan(
    frames: dict[str, pd.DataFrame], state: State, options: PlanOptions | None = None
) -> Plan:
    """Plan ``frames`` (validated kind frames with key and outcome) against ``state``."""
    options = options or PlanOptions()
    base = {kind: _prepare(frames.get(kind)) for kind in KINDS}
    refused = pd.DataFrame()
    for _ in range(3):  # R10 refusals change the tenant; plan again without those rows
        # Shallow copies: copy-on-write gives each pass its own outcome and key columns
        # when a rule writes them, without copying every input column up front.
        ctx = Context({k: f.copy(deep=False) for k, f in base.items()}, state, options)
        if len(refused):
            ctx.refuse(
                "users", refused, rule="R10", column="access_mode",
                message="at most 7 non-interactive users per environment: this row would make one more",
            )  # fmt: skip
        plan, violations = _plan_once(ctx)
        if violations.empty:
            return plan
        refused = pd.concat([refused, violations])
    return plan


def _prepare(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(
            columns=["source_file", "source_sheet", "source_row", "key", "outcome", "_row"]
        )
    frame = frame.reset_index(drop=True)
    return frame.assign(_row=range(len(frame)))


def _plan_once(ctx: Context) -> tuple[Plan | None, pd.DataFrame]:
    planned, violations = _planned_state(ctx)
    if planned is None:
        return None, violations
    # The rules' intermediate frames are gone by now: table_writes' copies of inserted rows
    # replace the planned tables' own rows, table by table, instead of adding to them.
    changes = ctx.changes.frame()
    _settle_outcomes(ctx.frames, changes)
    writes = table_writes(ctx.state, planned)
    return Plan(ctx.frames, changes, ctx.problems, ctx.state, planned, writes), violations


def _planned_state(ctx: Context) -> tuple[State | None, pd.DataFrame]:
    """Run the rules: the planned state (None when R10 refuses rows) and R10's violations."""
    state = ctx.state
    tenant = plan_users(ctx)
    release_memory()
    plan_mirror(ctx, tenant)
    licenses = plan_licenses(ctx, tenant)
    memberships = plan_memberships(ctx, tenant)
    release_memory()
    users = tenant.users.drop(columns="_key")
    existing = _convert_reassigned_stubs(state.environment_users, tenant.reassign_stubs)
    tenant_state = state.replace(users=users, licenses=licenses, memberships=memberships)
    env_users = derive_environment_users(
        tenant_state, existing,
        sync_primary_email=ctx.options.sync_primary_email,
        allow_disable_application_users=ctx.options.allow_disable_application_users,
    )  # fmt: skip
    violations = r10_violations(ctx, env_users)
    if not violations.empty:
        return None, violations
    roles = plan_roles(ctx, env_users, tenant.users)
    records, env_users, stub_roles = plan_records(ctx, env_users)
    roles = pd.concat([roles, stub_roles], ignore_index=True)
    records = reassign_stub_records(ctx, records, _converted(state, tenant.reassign_stubs))
    roles = _drop_converted_stub_roles(ctx, roles, tenant.reassign_stubs)
    touched = diff_environment_users(ctx, env_users)
    warn_primary_email(ctx, env_users, tenant.users)
    warn_roleless(ctx, env_users, roles, touched)
    planned = state.replace(
        users=users, licenses=licenses, memberships=memberships, environment_users=env_users,
        roles=roles, records=records,
    )  # fmt: skip
    return planned, violations


def _converted(state: State, reassign: pd.DataFrame | None) -> pd.DataFrame:
    env_users = state.environment_users
    if reassign is None or reassign.empty:
        return env_users.iloc[0:0]
    stubs = env_users[
        env_users["user_type"].eq("stub") & isin(lower(env_users["user_name"]), reassign["key"])
    ]
    names = reassign.set_index("key")["user_principal_name"]
    return stubs.assign(user_name=lower(stubs["user_name"]).map(names))


def _convert_reassigned_stubs(
    env_users: pd.DataFrame, reassign: pd.DataFrame | None
) -> pd.DataFrame:
    """R13: the stub's environment user becomes the real user's (derived anew, by R4)."""
    if reassign is None or reassign.empty:
        return env_users
    hit = env_users["user_type"].eq("stub") & isin(lower(env_users["user_name"]), reassign["key"])
    return env_users.assign(user_type=env_users["user_type"].mask(hit, "interactive"))


def _drop_converted_stub_roles(ctx: Context, roles: pd.DataFrame, reassign) -> pd.DataFrame:
    if reassign is None or reassign.empty:
        return roles
    stubs = _converted(ctx.state, reassign)
    stub_roles = ctx.state.roles
    old = stub_roles[isin(env_user_key(stub_roles, "user_principal_name"), env_user_key(stubs))]
    keys = role_key(old)
    ctx.changes.add(
        change="remove_role", entity="role", rule="R13", environment=old["environment"], key=keys
    )
    return roles[~isin(role_key(roles), keys)]


def _settle_outcomes(frames: dict[str, pd.DataFrame], changes: pd.DataFrame) -> None:
    """Rows still pending are changed when they caused a change, else unchanged."""
    for kind, frame in frames.items():
        pending = frame["outcome"].eq(PENDING).to_numpy()
        caused = changes.loc[changes["_kind"].eq(kind), "_row"].dropna()
        hit = isin(frame["_row"], caused).to_numpy()
        frame.loc[pending & hit, "outcome"] = "changed"
        frame.loc[pending & ~hit, "outcome"] = "unchanged"
        frames[kind] = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
