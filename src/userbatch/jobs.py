"""The commands as library functions: read → validate → plan → apply → report.

Each returns a ``JobResult`` (exit code, report folder, what happened); the CLI only
parses options, calls one of these and prints. Tests call them directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from userbatch.apply import apply_plan
from userbatch.errors import FatalError, UsageError
from userbatch.io.readers import read_inputs
from userbatch.plan import Plan, PlanOptions, make_plan
from userbatch.reports import default_report_dir, write_reports
from userbatch.reports.model import RunReport
from userbatch.state.model import State
from userbatch.state.snapshot import default_security_roles, export_snapshot, load_snapshot
from userbatch.state.store import Store
from userbatch.validate import Validation, validate
from userbatch.vocabulary import (
    ENVIRONMENT_KINDS,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PENDING,
    EXIT_REJECTED,
)


@dataclass
class ReadOptions:
    encoding: str | None = None
    group: str | None = None
    usage_location: str | None = None


@dataclass
class JobResult:
    exit_code: int
    report_dir: Path | None = None
    plan: Plan | None = None
    validation: Validation | None = None
    applied: bool = False
    messages: list[str] = field(default_factory=list)


class Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def stage(self, name: str, started: float) -> None:
        self.timings[name] = round(time.perf_counter() - started, 3)


def read_and_validate(inputs, read: ReadOptions, timer: Timer) -> Validation:
    started = time.perf_counter()
    result = read_inputs(
        [Path(p) for p in inputs], encoding=read.encoding, group=read.group,
        usage_location=read.usage_location,
    )  # fmt: skip
    timer.stage("read", started)
    started = time.perf_counter()
    validation = validate(result)
    timer.stage("validate", started)
    return validation


def run_validate(
    inputs, *, read: ReadOptions | None = None, report_dir=None, strict=False
) -> JobResult:
    """`userbatch validate`: schemas and cross-file checks; no store needed."""
    timer = Timer()
    validation = read_and_validate(inputs, read or ReadOptions(), timer)
    code = validation.exit_code(strict)
    report = RunReport(
        command="validate", exit_code=code, frames=validation.frames, columns=validation.columns,
        problems=validation.problems, inputs=validation.inputs, timings_s=timer.timings,
    )  # fmt: skip
    folder = _write(report, report_dir, "validate", timer)
    return JobResult(code, folder, validation=validation, messages=list(validation.rejected_files))


def run_plan(
    inputs,
    *,
    state=None,
    read: ReadOptions | None = None,
    options: PlanOptions | None = None,
    report_dir=None,
    apply: bool = False,
    check: bool = False,
    confirm=None,
) -> JobResult:
    """`userbatch plan` (dry-run) and, with ``apply=True``, `userbatch apply`.

    ``confirm(plan) -> bool`` is asked before applying (interactive apply); None proceeds.
    """
    options = options or PlanOptions()
    timer = Timer()
    store = Store.open(state)
    validation = read_and_validate(inputs, read or ReadOptions(), timer)
    command = "apply" if apply else "plan"
    started = time.perf_counter()
    current = store.load()
    fingerprint = store.fingerprint()
    plan = make_plan(validation.frames, current, options)
    timer.stage("plan", started)
    problems = validation.problems
    problems.extend(plan.problems)
    code = _exit_code(validation, plan, options.strict, check and not apply)
    result = JobResult(
        code, plan=plan, validation=validation, messages=list(validation.rejected_files)
    )
    credentials = None
    after = fingerprint
    if apply and code in (EXIT_OK, EXIT_PARTIAL) and not plan.changes.empty:
        if confirm is not None and not confirm(plan):
            result.exit_code = 1
            result.messages.append("not applied: answered no")
        else:
            started = time.perf_counter()
            applied = apply_plan(store, plan, expected_fingerprint=fingerprint)
            timer.stage("apply", started)
            credentials, after, result.applied = (
                applied.credentials,
                applied.fingerprint_after,
                True,
            )
    report = RunReport(
        command=command, exit_code=result.exit_code, frames=plan.frames, columns=validation.columns,
        problems=problems, inputs=validation.inputs, changes=plan.report_changes(),
        invitations=plan.invitations, credentials=credentials,
        store_fingerprint_before=fingerprint, store_fingerprint_after=after,
        timings_s=timer.timings,
    )  # fmt: skip
    result.report_dir = _write(report, report_dir, command, timer)
    return result


def _exit_code(validation: Validation, plan: Plan, strict: bool, check: bool) -> int:
    """SPEC §6: the first that applies of 3 rejected, 4 partial, 5 pending, 0 done."""
    code = validation.exit_code(strict)
    if code == EXIT_REJECTED:
        return code
    outcomes = pd.concat([f["outcome"] for f in plan.frames.values()], ignore_index=True)
    troubled = outcomes.isin(["invalid", "failed", "skipped"]).any()
    if troubled:
        return EXIT_REJECTED if strict else EXIT_PARTIAL
    if check and not plan.changes.empty:
        return EXIT_PENDING
    return EXIT_OK


def _write(report: RunReport, report_dir, command: str, timer: Timer) -> Path:
    started = time.perf_counter()
    folder = Path(report_dir) if report_dir else default_report_dir(command)
    report.timings_s = timer.timings
    write_reports(report, folder)
    timer.stage("reports", started)
    return folder


# ------------------------------------------------------------------ state commands
def run_init(
    state=None,
    *,
    snapshot=None,
    force=False,
    env=None,
    kind="dynamics365",
    security_group=None,
    skus=(),
    encoding=None,
) -> list[str]:
    """`userbatch init`: create the store, load a snapshot, add an environment or SKUs."""
    try:
        store = Store.open(state)
    except FatalError:
        store = Store.open(state, create=True)
    messages = []
    if snapshot is not None:
        if not force and not store.is_empty():
            raise UsageError(
                "the store already holds data; pass --force to replace it with the snapshot"
            )
        loaded, rejected = load_snapshot(snapshot, encoding=encoding)
        store.replace_all(loaded)
        messages.append(_describe(loaded, snapshot))
        if len(rejected):
            messages.append(
                f"{len(rejected)} snapshot rows were left out: {rejected['message'].iloc[0]}"
            )
    if env or skus:
        current = store.load()
        current = _add_environment(current, env, kind, security_group) if env else current
        current = _add_skus(current, skus)
        store.replace_all(current)
        messages.append(_describe(current, store.url))
    if not messages:
        messages.append(f"store ready at {store.url}")
    return messages


def _describe(state: State, source) -> str:
    return (
        f"loaded {source}: {len(state.users)} users, {len(state.environments)} environments, "
        f"{len(state.skus)} SKUs, {len(state.environment_users)} environment users, "
        f"{len(state.records)} records"
    )


def _add_environment(state: State, env: str, kind: str, group) -> State:
    if kind not in ENVIRONMENT_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(ENVIRONMENT_KINDS)}")
    envs = state.environments
    if envs["name"].str.lower().eq(env.lower()).any():
        raise UsageError(f"environment {env} already exists")
    new = pd.DataFrame(
        [
            {
                "name": env,
                "kind": kind,
                "security_group": group,
                "allow_role_assignment_on_disabled_users": "no",
            }
        ]
    )
    groups = state.groups
    if group and not groups["name"].str.lower().eq(group.lower()).any():
        groups = pd.concat([groups, pd.DataFrame({"name": [group]})], ignore_index=True)
    roles = pd.concat([state.security_roles, default_security_roles(new)], ignore_index=True)
    return state.replace(
        environments=pd.concat([envs, new], ignore_index=True), groups=groups, security_roles=roles
    )


def _add_skus(state: State, skus) -> State:
    if not skus:
        return state
    rows = []
    for spec in skus:
        name, _, units = spec.partition("=")
        if not name.strip() or not units.strip().isdigit():
            raise UsageError(
                f"--sku {spec}: give NAME=UNITS, e.g. --sku DYN365_ENTERPRISE_SALES=25"
            )
        rows.append({"sku": name.strip(), "total_units": int(units), "grants_access": "yes"})
    new = pd.DataFrame(rows)
    kept = state.skus[~state.skus["sku"].str.lower().isin(new["sku"].str.lower())]
    return state.replace(skus=pd.concat([kept, new], ignore_index=True))


def run_export(state, out) -> Path:
    return export_snapshot(Store.open(state).load(), out)


def status(state=None) -> dict:
    """Per environment: enabled, disabled, stub, non-interactive and application users;
    seats used/total per SKU."""
    current = Store.open(state).load()
    env_users = current.environment_users
    environments = []
    for env in current.environments.itertuples():
        mine = env_users[env_users["environment"].eq(env.name)]
        people = mine[mine["user_type"].ne("stub")]
        environments.append(
            {
                "environment": env.name,
                "kind": env.kind,
                "security_group": None if pd.isna(env.security_group) else env.security_group,
                "enabled": int(people["status"].eq("enabled").sum()),
                "disabled": int(people["status"].eq("disabled").sum()),
                "stub": int(mine["user_type"].eq("stub").sum()),
                "non_interactive": int(
                    (
                        people["access_mode"].eq("non-interactive")
                        & people["user_type"].eq("interactive")
                    ).sum()
                ),
                "application": int(people["user_type"].eq("application").sum()),
            }
        )
    used = current.licenses["sku"].value_counts()
    seats = [
        {"sku": s.sku, "used": int(used.get(s.sku, 0)), "total": int(s.total_units)}
        for s in current.skus.itertuples()
    ]
    return {"tenant_users": len(current.users), "environments": environments, "skus": seats}
