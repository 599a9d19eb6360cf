"""The commands as library functions: read → validate → plan → apply → report.

Each returns a ``JobResult`` (exit code, report folder, what happened); the CLI only
parses options, calls one of these and prints. Tests call them directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from userbatch.apply import apply_plan
from userbatch.emit import DEFAULT_CHUNK_ROWS
from userbatch.errors import FatalError, UsageError
from userbatch.frames import isin, release_memory
from userbatch.io.readers import read_inputs
from userbatch.logs import Progress
from userbatch.plan import Plan, PlanOptions, make_plan
from userbatch.plan.changes import LazyAfter
from userbatch.plan.mirror import guard_refusal
from userbatch.plan.saved import load_plan, save_plan
from userbatch.reports import default_report_dir, write_reports
from userbatch.reports.changes_csv import ChangesCsv
from userbatch.reports.html import environment_counts, seat_usage
from userbatch.reports.model import RunReport
from userbatch.state.history import new_run_id, run_record
from userbatch.state.lock import apply_lock
from userbatch.state.model import State
from userbatch.state.snapshot import default_security_roles, export_snapshot, load_snapshot
from userbatch.state.store import Store
from userbatch.validate import Validation, validate
from userbatch.vocabulary import (
    ENVIRONMENT_KINDS,
    EXIT_FATAL,
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
    """What a command did. After a plan or apply, ``plan.frames`` holds the rows' outcomes
    (row columns only; refused rows whole in ``plan.failing``) and ``validation.frames`` is
    empty: the planner took the input frames over."""

    exit_code: int
    report_dir: Path | None = None
    plan: Plan | None = None
    validation: Validation | None = None
    applied: bool = False
    messages: list[str] = field(default_factory=list)
    emitted: list[Path] = field(default_factory=list)


class Timer:
    """Stage timings for summary.json, shown as progress while they run."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.progress = Progress()

    def begin(self, name: str) -> float:
        self.progress.start(name)
        return time.perf_counter()

    def stage(self, name: str, started: float) -> None:
        release_memory()
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.progress.done(name, self.timings[name])


def read_and_validate(inputs, read: ReadOptions, timer: Timer, on_read=None) -> Validation:
    """The inputs read, then validated; ``on_read()`` is called in between."""
    started = timer.begin("read")
    result = read_inputs(
        [Path(p) for p in inputs], encoding=read.encoding, group=read.group,
        usage_location=read.usage_location,
    )  # fmt: skip
    timer.stage("read", started)
    if on_read is not None:
        on_read()
    started = timer.begin("validate")
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
    out=None,
    emit=None,
    emit_rows: int = DEFAULT_CHUNK_ROWS,
    keep_current: bool = True,
) -> JobResult:
    """`userbatch plan` (dry-run) and, with ``apply=True``, `userbatch apply`.

    ``confirm(plan) -> bool`` is asked before applying (interactive apply); None proceeds.
    ``out`` saves the plan; ``emit`` writes the files for Microsoft's tools after an apply.
    ``keep_current=False`` (the CLI): ``result.plan.current`` is let go once the plan is
    checked, unless ``emit`` needs it.
    """
    options = options or PlanOptions()
    timer = Timer()
    command = "apply" if apply else "plan"
    report_dir = _report_dir(report_dir, command, emit, emit_rows)
    store = Store.open(state)
    # A process running several jobs (a service, tests, the bench) starts each one with the
    # pages the last one freed handed back, not with its holes in the heap.
    release_memory()
    # The store loads while the inputs are validated (the read keeps both cores busy); the
    # plan stage waits for whatever of the load is left.
    loading = []
    try:
        validation = read_and_validate(
            inputs, read or ReadOptions(), timer, on_read=lambda: loading.append(store.start_load())
        )
        started = timer.begin("plan")
        current, fingerprint = loading[0].result()
    except BaseException:  # a bad input, or Ctrl-C: the load is given up
        for load in loading:
            load.cancel()
        raise
    validated = validation.exit_code(options.strict)
    # Handed over: the planner lets the input columns go once its rules have read them.
    plan = make_plan(validation.take_frames(), current, options)
    timer.stage("plan", started)
    problems = validation.problems
    problems.extend(plan.problems)
    code = _exit_code(validated, plan, options.strict, check and not apply)
    result = JobResult(
        code, plan=plan, validation=validation, messages=list(validation.rejected_files)
    )
    refusal = _guard(plan, current, options)
    if refusal:
        result.exit_code = EXIT_FATAL
        result.messages.append(refusal)
    if out is not None and not refusal:
        save_plan(out, plan, fingerprint=fingerprint, inputs=validation.inputs, exit_code=code)
        result.messages.append(f"plan saved to {out}; apply it with: userbatch apply --plan {out}")
    credentials, after, changes_file = None, fingerprint, None
    if emit is None and not keep_current:
        # Only --emit reads the state as it was: the tables the plan replaced go before the
        # apply and the reports (1M users: ~0.2 GB, mostly the old environment users).
        plan.current = current = None
    if apply and result.exit_code in (EXIT_OK, EXIT_PARTIAL):
        credentials, after, changes_file = _apply_confirmed(
            result, store, fingerprint, validation.inputs, confirm, timer, report_dir
        )
    report = RunReport(
        command=command, exit_code=result.exit_code, frames=plan.frames, columns=validation.columns,
        failing=plan.failing, problems=problems, inputs=validation.inputs,
        changes=plan.report_changes(), fill_after=plan.lazy.fill, changes_file=changes_file,
        invitations=plan.invitations, credentials=credentials,
        store_fingerprint_before=fingerprint, store_fingerprint_after=after,
        **_state_facts(plan.planned),
    )  # fmt: skip
    result.report_dir = _write(report, report_dir, command, timer)
    if emit is not None and result.applied:
        result.emitted = _emit(emit, plan, credentials, result.report_dir, store, emit_rows)
    return result


def _apply_confirmed(
    result: JobResult, store, fingerprint, inputs, confirm, timer: Timer, report_dir: Path
):
    """Apply ``result.plan`` unless it is empty or the person answers no; returns
    (credentials, fingerprint after, changes.csv as written during the apply or None)."""
    plan = result.plan
    if plan.changes.empty:
        return None, fingerprint, None
    if confirm is not None and not confirm(plan):
        result.exit_code = EXIT_FATAL
        result.messages.append("not applied: answered no")
        return None, fingerprint, None
    started = timer.begin("apply")
    changes_csv = ChangesCsv(report_dir)
    try:
        applied = _execute(
            store, plan, fingerprint, "apply", inputs, result.exit_code, changes_csv=changes_csv
        )
    except BaseException:
        changes_csv.discard()
        raise
    timer.stage("apply", started)
    result.applied = True
    return applied.credentials, applied.fingerprint_after, changes_csv.file


def _state_facts(state: State | None) -> dict:
    """Seats used/total per SKU and users per environment, for report.html."""
    if state is None:
        return {}
    return {
        "seats": seat_usage(state.licenses, state.skus),
        "environments": environment_counts(state.environment_users),
    }


def _guard(plan: Plan, current: State, options: PlanOptions) -> str | None:
    """The mass-disable guard: always in mirror mode, in upsert mode when --max-disable is given."""
    if options.mode != "mirror" and options.max_disable is None:
        return None
    return guard_refusal(plan.changes, current.environment_users, options.max_disable)


def _execute(
    store: Store,
    plan: Plan,
    fingerprint,
    command: str,
    inputs,
    exit_code: int,
    changes_csv=None,
    **run_extra,
):
    """Apply under the store's lock, recording the run in the history in the same
    transaction (and changes.csv as it goes, given ``changes_csv``)."""
    run_id = new_run_id()
    counts = [
        {"entity": entity, "change": change, "count": int(n)}
        for (change, entity), n in plan.counts().items()
    ]
    run = run_record(run_id, command, inputs, counts, exit_code, **run_extra)
    with apply_lock(store, run_id):
        return apply_plan(
            store, plan, expected_fingerprint=fingerprint, run=run, changes_csv=changes_csv
        )


def _emit(out, plan: Plan, credentials, report_dir: Path, store: Store, rows: int) -> list[Path]:
    from userbatch.emit import write_emit

    if plan.planned is None:
        plan.planned = store.load()
    # The emitted files read changes whole: their after texts are made here, once.
    plan = replace(plan, changes=plan.lazy.fill(plan.changes), lazy=LazyAfter())
    return write_emit(Path(out), plan, credentials, report_dir=report_dir, chunk_rows=rows)


def run_apply_saved(
    plan_path,
    *,
    state=None,
    report_dir=None,
    confirm=None,
    emit=None,
    emit_rows: int = DEFAULT_CHUNK_ROWS,
) -> JobResult:
    """`userbatch apply --plan plan.json`: execute exactly the saved plan, or refuse a store
    that changed since it was made."""
    timer = Timer()
    report_dir = _report_dir(report_dir, "apply", emit, emit_rows)
    store = Store.open(state)
    plan, header = load_plan(plan_path)
    fingerprint = store.fingerprint()
    if header["store_fingerprint"] != fingerprint:
        raise FatalError(
            f"{plan_path} is stale: the store changed since the plan was made; plan again"
        )
    plan.current = store.load()
    code = header["exit_code"] if header["exit_code"] in (EXIT_OK, EXIT_PARTIAL) else EXIT_OK
    result = JobResult(code, plan=plan)
    credentials, after, changes_file = _apply_confirmed(
        result, store, fingerprint, header["inputs"], confirm, timer, report_dir
    )
    report = RunReport(
        command="apply", exit_code=result.exit_code, inputs=header["inputs"] or [],
        changes=plan.report_changes(), changes_file=changes_file,
        invitations=plan.invitations, credentials=credentials,
        store_fingerprint_before=fingerprint, store_fingerprint_after=after,
        **_state_facts(store.load()),
    )  # fmt: skip
    result.report_dir = _write(report, report_dir, "apply", timer)
    if emit is not None and result.applied:
        plan.planned = store.load()
        result.emitted = _emit(emit, plan, credentials, result.report_dir, store, emit_rows)
    return result


def run_revert(run_id: str, *, state=None, force=False, report_dir=None, confirm=None) -> JobResult:
    """`userbatch revert RUN`: plan and apply the inverse of a run."""
    from userbatch.revert import inverse_plan

    timer = Timer()
    store = Store.open(state)
    plan = inverse_plan(store, run_id, force=force)
    fingerprint = store.fingerprint()
    result = JobResult(EXIT_OK, plan=plan)
    credentials, after = None, fingerprint
    if confirm is not None and not confirm(plan):
        result.exit_code = EXIT_FATAL
        result.messages.append("not reverted: answered no")
    elif not plan.changes.empty:
        started = timer.begin("apply")
        _execute(store, plan, fingerprint, "revert", [], EXIT_OK, reverts=run_id)
        timer.stage("apply", started)
        result.applied, after = True, store.fingerprint()
    report = RunReport(
        command="revert", exit_code=result.exit_code, changes=plan.report_changes(),
        credentials=credentials, store_fingerprint_before=fingerprint, store_fingerprint_after=after,
    )  # fmt: skip
    result.report_dir = _write(report, report_dir, "revert", timer)
    return result


def history(state=None, run_id: str | None = None) -> pd.DataFrame:
    """The runs, or one run's changes."""
    from userbatch.state.history import list_runs, run_changes

    store = Store.open(state)
    return run_changes(store, run_id) if run_id else list_runs(store)


def _exit_code(validated: int, plan: Plan, strict: bool, check: bool) -> int:
    """SPEC §6: the first that applies of 3 rejected, 4 partial, 5 pending, 0 done;
    ``validated`` is the validation's own exit code."""
    code = validated
    if code == EXIT_REJECTED:
        return code
    outcomes = pd.concat([f["outcome"] for f in plan.frames.values()], ignore_index=True)
    troubled = isin(outcomes, ["invalid", "failed", "skipped"]).any()
    if troubled:
        return EXIT_REJECTED if strict else EXIT_PARTIAL
    if check and not plan.changes.empty:
        return EXIT_PENDING
    return EXIT_OK


def _report_dir(report_dir, command: str, emit=None, emit_rows: int = DEFAULT_CHUNK_ROWS) -> Path:
    """The report folder, settled before anything is applied so a bad --emit stops first."""
    folder = Path(report_dir) if report_dir else default_report_dir(command)
    if emit is not None:
        from userbatch.emit import check_emit_dir

        check_emit_dir(Path(emit), folder, emit_rows)
    return folder


def _write(report: RunReport, report_dir, command: str, timer: Timer) -> Path:
    started = timer.begin("reports")
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
    kept = state.skus[~isin(state.skus["sku"].str.lower(), new["sku"].str.lower())]
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
