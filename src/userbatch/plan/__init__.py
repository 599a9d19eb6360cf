"""Reconcile: the wanted state (inputs) against the current state (store) → one plan.

``make_plan`` never writes the store. Its ``Plan`` holds the changes in SPEC §7
vocabulary, the row outcomes, the problems, and the planned state that apply writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, release_memory, text_array
from userbatch.plan.changes import CHANGE_COLUMNS, LazyAfter
from userbatch.plan.concurrent import alongside
from userbatch.plan.context import PENDING, Context, PlanOptions, env_user_key, lower
from userbatch.plan.diff import table_writes
from userbatch.plan.keys import equal, scalar
from userbatch.plan.memberships import plan_memberships
from userbatch.plan.mirror import plan_mirror
from userbatch.plan.rules.enablement import derive_environment_users, user_keys
from userbatch.plan.rules.licenses import plan_licenses
from userbatch.plan.rules.profile import (
    diff_environment_users,
    r10_may_refuse,
    r10_violations,
    warn_primary_email,
)
from userbatch.plan.rules.roles import plan_roles, role_key, warn_roleless
from userbatch.plan.rules.stubs import plan_records, reassign_stub_records, with_stubs
from userbatch.plan.users import plan_users
from userbatch.problems import Problems
from userbatch.state.model import State, conform
from userbatch.vocabulary import KINDS

__all__ = ["Plan", "PlanOptions", "make_plan"]


@dataclass
class Plan:
    frames: dict[str, pd.DataFrame]  # kind frames with outcome changed/unchanged/…
    changes: pd.DataFrame  # CHANGE_COLUMNS (+ internal _kind, _row)
    problems: Problems
    current: State | None  # None once run_plan(keep_current=False) is past its guard
    planned: State
    writes: dict
    # Per kind, the refused rows with every input column (errors/<kind>.csv): ``frames``
    # keep only the row columns of a kind once its rules are done (Context.set_aside).
    failing: dict[str, pd.DataFrame] = field(default_factory=dict)
    # The ``after`` texts ``changes`` leaves missing (created rows' JSON), made as written.
    lazy: LazyAfter = field(default_factory=LazyAfter)

    @property
    def invitations(self) -> pd.DataFrame:
        """R6: users needing a new invitation."""
        # Two columns first, then the rows: a row mask over the whole change log copies
        # every column on the way (1M users: 2.5 s and ~0.9 GB for 22k rows).
        rows = self.changes[["environment", "key"]]
        rows = rows[self.changes["change"].eq("invitation_required").to_numpy()]
        return rows.rename(columns={"key": "user_principal_name"})

    def report_changes(self) -> pd.DataFrame:
        """The changes in CHANGE_COLUMNS; a created row's ``after`` is missing here (see
        ``lazy`` and ``changes_with_after``)."""
        return self.changes[list(CHANGE_COLUMNS)]

    def changes_with_after(self) -> pd.DataFrame:
        """``report_changes()`` with every ``after`` text made, at once (a saved plan,
        --emit, --verbose); the reports and history make them a chunk at a time."""
        return self.lazy.fill(self.report_changes())

    def counts(self) -> pd.Series:
        """Changes per (entity, change), for the terminal summary."""
        return self.changes.groupby(["change", "entity"], sort=False).size()


def make_plan(
    frames: dict[str, pd.DataFrame], state: State, options: PlanOptions | None = None
) -> Plan:
    """Plan ``frames`` (validated kind frames with key and outcome) against ``state``.

    A caller that keeps no reference of its own to ``frames`` (``run_plan``) lets their
    input columns go once the rules are done with them; the plan's frames keep the row
    columns, and ``Plan.failing`` the refused rows whole."""
    options = options or PlanOptions()
    base = {kind: _prepare(frames.get(kind)) for kind in KINDS}
    del frames
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
        # Once R10 holds no pass follows: the base frames are let go (Context.set_aside).
        plan, violations = _plan_once(ctx, settled=base.clear)
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


def _plan_once(ctx: Context, settled=lambda: None) -> tuple[Plan | None, pd.DataFrame]:
    planned, violations = _planned_state(ctx, settled)
    if planned is None:
        return None, violations
    # The rules' intermediate frames are gone by now: table_writes' copies of inserted rows
    # replace the planned tables' own rows, table by table, instead of adding to them.
    release_memory()  # the rules' temporaries, before the change log is put together
    changes = ctx.changes.frame()
    # Records keep their columns: --emit's Dataverse files carry each record's extra columns.
    ctx.set_aside("roles")
    # R1's given passwords are the users columns read after the plan (apply.credentials_for).
    users = ctx.frames["users"]
    ctx.frames["users"] = users.drop(columns=["user_principal_name", "email"], errors="ignore")
    _settle_outcomes(ctx.frames, changes)
    release_memory()
    writes = table_writes(ctx.state, planned)
    plan = Plan(
        ctx.frames, changes, ctx.problems, ctx.state, planned, writes, ctx.failing,
        ctx.changes.lazy_after(),
    )  # fmt: skip
    return plan, violations


def _planned_state(ctx: Context, settled) -> tuple[State | None, pd.DataFrame]:
    """Run the rules: the planned state (None when R10 refuses rows) and R10's violations.
    ``settled()`` is called once R10 holds."""
    state = ctx.state
    tenant, tenant_state, existing, (keys, members), inputs = _tenant_rules(ctx, settled)
    env_users = derive_environment_users(
        tenant_state, existing,
        sync_primary_email=ctx.options.sync_primary_email,
        allow_disable_application_users=ctx.options.allow_disable_application_users,
        keys=keys, members=members,
    )  # fmt: skip
    del members
    violations = pd.DataFrame() if inputs.early else r10_violations(ctx, env_users)
    if not violations.empty:
        return None, violations
    inputs.r10_held()
    # Roles and records each read the derived environment users and refuse their own rows.
    roles, (records, stubs, stub_roles) = alongside(
        ctx,
        lambda c: plan_roles(c, env_users, tenant.users),
        lambda c: plan_records(c, env_users),
    )
    release_memory()  # both rules' temporaries, before the table with the stubs is made
    env_users = with_stubs(env_users, stubs)
    roles = pd.concat([roles, stub_roles], ignore_index=True)
    release_memory()  # the table without the stubs
    records = reassign_stub_records(ctx, records, _converted(state, tenant.reassign_stubs))
    roles = _drop_converted_stub_roles(ctx, roles, tenant.reassign_stubs)
    touched, _ = alongside(
        ctx,
        lambda c: diff_environment_users(c, env_users),
        lambda c: warn_primary_email(c, env_users, tenant.users),
    )
    release_memory()
    warn_roleless(ctx, env_users, roles, touched)
    planned = tenant_state.replace(environment_users=env_users, roles=roles, records=records)
    return planned, violations


def _tenant_rules(ctx: Context, settled):
    """The users, licenses and memberships rules: (tenant plan, the state with the planned
    users, licenses and memberships, the existing environment users, the derivation's
    UserKeys and GroupMembers, the _InputRelease that lets their input columns go)."""
    state = ctx.state
    tenant = plan_users(ctx)
    inputs = _InputRelease(ctx, settled)
    inputs.done("users")
    release_memory()
    plan_mirror(ctx, tenant)
    users = conform("users", tenant.users.drop(columns="_key"))
    existing = _convert_reassigned_stubs(state.environment_users, tenant.reassign_stubs)

    def licenses_then_keys(c: Context):
        # The licenses rule is the quicker one: the derivation's user keys (they read the
        # planned users and licenses, no memberships) fill the time left beside memberships.
        licenses = conform("licenses", plan_licenses(c, tenant))
        release_memory()  # the rule's temporaries, before the keys' (memberships run beside)
        with_licenses = State.conformed({**state.tables, "users": users, "licenses": licenses})
        return licenses, user_keys(with_licenses, existing)

    # Each reads the planned users and refuses rows of its own kind only.
    (licenses, keys), (memberships, members) = alongside(
        ctx, licenses_then_keys, lambda c: plan_memberships(c, tenant)
    )
    inputs.done("licenses")
    inputs.done("memberships")
    release_memory()
    tenant_state = State.conformed(
        {
            **state.tables, "users": users, "licenses": licenses,
            "memberships": conform("memberships", memberships),
        }
    )  # fmt: skip
    return tenant, tenant_state, existing, (keys, members), inputs


class _InputRelease:
    """When the tenant kinds' input columns go (Context.set_aside). R10 refuses only users
    rows that set access mode non-interactive: without one (``early``) no pass follows, and
    each kind's go as soon as its rule is done (1M users: the environment users are derived
    ~0.4 GB lower); with one, all of them once R10's check has found nothing."""

    # Users columns read after the users rule: failed user keys, R3's warning, R1's
    # given passwords.
    KEPT = {"users": ("user_principal_name", "email", "password")}

    def __init__(self, ctx: Context, settled) -> None:
        self.ctx, self.settled = ctx, settled
        self.early = not r10_may_refuse(ctx)
        if self.early:
            settled()

    def done(self, kind: str) -> None:
        """``kind``'s rule is done."""
        if self.early:
            self.ctx.set_aside(kind, keep=self.KEPT.get(kind, ()))

    def r10_held(self) -> None:
        """R10's check found nothing to refuse: no pass follows."""
        if not self.early:
            self.settled()
            for kind in ("users", "licenses", "memberships"):
                self.ctx.set_aside(kind, keep=self.KEPT.get(kind, ()))
        release_memory()


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
    kinds = changes["_kind"].astype("category")
    kind_codes = kinds.cat.codes.to_numpy()
    row = changes["_row"].astype("Int64").array
    of_row = np.where(row.isna(), -1, row.to_numpy(dtype="int64", na_value=-1))
    for kind, frame in frames.items():
        outcome = text_array(frame["outcome"])
        pending = equal(outcome, PENDING)
        code = kinds.cat.categories.get_indexer([kind])[0]
        caused = of_row[(kind_codes == code) & (of_row >= 0)] if code >= 0 else []
        hit = _rows_hit(frame["_row"], caused)
        outcome = pc.if_else(pa.array(pending & hit), scalar("changed"), outcome)
        outcome = pc.if_else(pa.array(pending & ~hit), scalar("unchanged"), outcome)
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
        frames[kind] = frame.assign(outcome=as_series(outcome, frame.index))


def _rows_hit(rows: pd.Series, caused) -> np.ndarray:
    """Which of ``rows`` (a kind frame's ``_row``) are among ``caused``: by position when
    ``_row`` numbers the frame's rows in order (as ``_prepare`` made it), else by value."""
    numbers = pd.to_numeric(rows, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    caused = np.asarray(caused, dtype=np.int64)
    in_frame = not len(caused) or (caused.min() >= 0 and caused.max() < len(numbers))
    if len(numbers) and in_frame and (numbers == np.arange(len(numbers))).all():
        hit = np.zeros(len(numbers), dtype=bool)
        hit[caused] = True
        return hit
    return isin(rows, pd.Series(caused, dtype="float64")).to_numpy()
