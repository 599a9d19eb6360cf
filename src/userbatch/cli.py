"""The click layer: options in, one library call, a few lines out, the SPEC §6 exit code.

Nothing here decides an outcome; see ``userbatch.jobs`` for the commands as functions.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path

import click

from userbatch import __version__, jobs
from userbatch.errors import UserbatchError
from userbatch.logs import configure_logging
from userbatch.plan import PlanOptions
from userbatch.terminal import change_lines, change_summary, outcome_summary
from userbatch.vocabulary import EXIT_FATAL, EXIT_USAGE

log = logging.getLogger("userbatch")


def _logging_options(func):
    @click.option("--quiet", is_flag=True, help="Only errors on the terminal.")
    @click.option(
        "--log-file", type=click.Path(dir_okay=False), help="Also write the log to this file."
    )
    @click.option(
        "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    @functools.wraps(func)
    def wrapper(*args, quiet, log_file, log_format, **kwargs):
        configure_logging(quiet=quiet, log_file=log_file, log_format=log_format)
        try:
            code = func(*args, **kwargs)
        except UserbatchError as exc:
            log.error(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
            code = exc.exit_code
        except click.exceptions.Exit:
            raise
        except KeyboardInterrupt:
            log.error("interrupted; nothing was applied")
            code = EXIT_FATAL
        except Exception as exc:  # internal error: one line, no traceback (SPEC §6)
            if os.environ.get("USERBATCH_DEBUG"):
                raise
            log.error(f"internal error: {exc.__class__.__name__}: {exc}".splitlines()[0])
            code = EXIT_FATAL
        sys.exit(code or 0)

    return wrapper


def _read_options(func):
    @click.option(
        "--encoding", help="Read CSVs in this encoding (default: BOM, UTF-8, then cp1252)."
    )
    @click.option("--group", help="The group an Entra 'Bulk add group members' file adds to.")
    @click.option(
        "--usage-location", metavar="XX", help="Usage location for users rows that have none."
    )
    @functools.wraps(func)
    def wrapper(*args, encoding, group, usage_location, **kwargs):
        read = jobs.ReadOptions(encoding=encoding, group=group, usage_location=usage_location)
        return func(*args, read=read, **kwargs)

    return wrapper


def _state_option(func):
    return click.option(
        "--state", envvar="USERBATCH_STATE", default="userbatch.db", show_default=True,
        help="State store: a SQLite path or a SQLAlchemy URL (env USERBATCH_STATE).",
    )(func)  # fmt: skip


def _plan_options(func):
    options = [
        click.option("--env", help="Default environment for roles and records rows without one."),
        click.option(
            "--report-dir",
            type=click.Path(file_okay=False),
            help="Where reports go (default reports/<UTC time>-<command>/).",
        ),
        click.option("--strict", is_flag=True, help="Reject the whole run when any row fails."),
        click.option("--verbose", is_flag=True, help="List every change, one a line."),
        click.option(
            "--default-owner", help="Owner for records whose owner name is ambiguous (R12)."
        ),
        click.option(
            "--reassign-stub-records",
            is_flag=True,
            help="R13: move a stub's records to the real user of the same name.",
        ),
        click.option(
            "--sync-primary-email",
            is_flag=True,
            help="R3: overwrite Primary Email from the email column.",
        ),
        click.option(
            "--allow-disable-application-users",
            is_flag=True,
            help="R10: let R4 disable application users.",
        ),
        click.option(
            "--release-licenses", is_flag=True, help="R7: disabling a user also frees its seats."
        ),
        click.option(
            "--mode",
            type=click.Choice(["upsert", "mirror"]),
            default="upsert",
            show_default=True,
            help="mirror: the users input is the whole roster; absent users are disabled (R7).",
        ),  # fmt: skip
        click.option(
            "--keep",
            multiple=True,
            metavar="UPNS",
            help="Break-glass accounts mirror never disables: a file or a comma list.",
        ),  # fmt: skip
        click.option(
            "--max-disable",
            metavar="N|P%",
            help="Refuse a run that disables more users (default 10%% of enabled, in mirror mode).",
        ),  # fmt: skip
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(kw) -> PlanOptions:
    return PlanOptions(
        env=kw["env"], default_owner=kw["default_owner"],
        reassign_stub_records=kw["reassign_stub_records"], sync_primary_email=kw["sync_primary_email"],
        allow_disable_application_users=kw["allow_disable_application_users"],
        release_licenses=kw["release_licenses"], strict=kw["strict"], mode=kw["mode"],
        keep=tuple(kw["keep"]), max_disable=kw["max_disable"],
    )  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="userbatch")
def cli():
    """Bulk onboarding for Power Platform and Dynamics 365: validate spreadsheets of users,
    licenses, group memberships, security roles and records, plan them against the
    environment state, and apply them in one transaction.

    \b
    userbatch templates --out templates/
    userbatch init --from samples/snapshot.xlsx
    userbatch plan samples/onboarding.xlsx
    userbatch apply samples/onboarding.xlsx --yes
    """


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default="templates", show_default=True)
@_logging_options
def templates(out):
    """Write blank CSV templates and one workbook with explanations and dropdowns.

    \b
    userbatch templates --out my-templates/
    """
    from userbatch.templates import write_templates

    for path in write_templates(Path(out)):
        click.echo(str(path))
    return 0


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_read_options
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where reports go.")
@click.option("--strict", is_flag=True, help="Exit 3 when any row is invalid.")
@_logging_options
def validate(inputs, read, report_dir, strict):
    """Check input files against the schemas; needs no store.

    \b
    userbatch validate samples/onboarding.xlsx
    userbatch validate users.csv licenses.csv --strict
    """
    result = jobs.run_validate(inputs, read=read, report_dir=report_dir, strict=strict)
    for message in result.messages:
        log.error(message)
    log.info(outcome_summary(result.validation.frames))
    log.info(f"Reports: {result.report_dir}")
    return result.exit_code


def _confirm(yes: bool, question: str = "Apply these changes?"):
    """Interactive apply shows the plan and asks; --yes or a non-TTY stdin proceeds."""
    if yes or not sys.stdin.isatty():
        return None

    def confirm(plan) -> bool:
        click.echo(change_summary(plan.report_changes(), done=False))
        return click.confirm(question, default=False)

    return confirm


def _run_plan(
    inputs,
    read,
    state,
    kw,
    *,
    apply,
    check=False,
    yes=False,
    out=None,
    emit=None,
    plan_file=None,
    emit_rows=40_000,
):
    if plan_file:
        if inputs:
            raise click.UsageError("give INPUT files or --plan, not both")
        result = jobs.run_apply_saved(
            plan_file,
            state=state,
            report_dir=kw["report_dir"],
            confirm=_confirm(yes),
            emit=emit,
            emit_rows=emit_rows,
        )
    else:
        if not inputs:
            raise click.UsageError("give INPUT files (or --plan PLAN.json)")
        result = jobs.run_plan(
            inputs, state=state, read=read, options=_options(kw), report_dir=kw["report_dir"],
            apply=apply, check=check, confirm=_confirm(yes) if apply else None, out=out, emit=emit,
            emit_rows=emit_rows, keep_current=False,
        )  # fmt: skip
    return _show(result, inputs, kw["verbose"], apply)


def _show(result, inputs, verbose: bool, apply: bool) -> int:
    for message in result.messages:
        (log.info if message.startswith("plan saved") else log.error)(message)
    changes = result.plan.report_changes()
    if verbose:
        for line in change_lines(result.plan.changes_with_after()):
            click.echo(line)
    if result.plan.frames:
        log.info(outcome_summary(result.plan.frames))
    if apply and result.applied:
        log.info(change_summary(changes, done=True))
    else:
        log.info(change_summary(changes, done=False))
        if not apply and not changes.empty and result.exit_code in (0, 4, 5):
            log.info("To apply: userbatch apply " + " ".join(inputs) + " (same options)")
    for path in result.emitted:
        log.info(f"Emitted: {path}")
    log.info(f"Reports: {result.report_dir}")
    return result.exit_code


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_read_options
@_state_option
@_plan_options
@click.option("--check", is_flag=True, help="Exit 5 when changes are pending (for monitoring).")
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan for `apply --plan`.")
@_logging_options
def plan(inputs, read, state, check, out, **kw):
    """Dry-run: compute every change, derived ones included, and write the reports.
    Never writes the store.

    \b
    userbatch plan samples/onboarding.xlsx
    userbatch plan users.csv licenses.csv --env sales-prod --verbose
    """
    return _run_plan(inputs, read, state, kw, apply=False, check=check, out=out)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@_read_options
@_state_option
@_plan_options
@click.option(
    "--plan", "plan_file", type=click.Path(dir_okay=False), help="Execute exactly a saved plan."
)
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--emit", type=click.Path(file_okay=False), help="Write files for Microsoft's tools here."
)
@click.option(
    "--emit-rows", type=click.IntRange(min=1), default=40_000, show_default=True,
    help="Users per Entra bulk-create file (each must finish within Entra's one-hour job limit).",
)  # fmt: skip
@_logging_options
def apply(inputs, read, state, yes, plan_file, emit, emit_rows, **kw):
    """Plan and apply in one transaction: a crash leaves the store as it was.
    Temporary passwords go to credentials.csv (mode 0600) only.

    \b
    userbatch apply samples/onboarding.xlsx --env sales-prod --yes
    userbatch apply --plan plan.json --yes
    userbatch apply samples/onboarding.xlsx --env sales-prod --yes --emit to-microsoft/
    """
    return _run_plan(
        inputs, read, state, kw, apply=True, yes=yes, emit=emit, plan_file=plan_file,
        emit_rows=emit_rows,
    )  # fmt: skip


@cli.command()
@click.argument("run_id", required=False)
@_state_option
@_logging_options
def history(run_id, state):
    """List applied runs, or show one run's changes.

    \b
    userbatch history
    userbatch history 20261127T020000Z-1a2b3c
    """
    frame = jobs.history(state, run_id)
    if run_id:
        for line in change_lines(frame):
            click.echo(line)
        return 0
    if frame.empty:
        click.echo("No runs yet.")
    for run in frame.itertuples():
        counts = ", ".join(
            f"{c['change']} {c['entity']} {c['count']}" for c in json.loads(run.counts or "[]")
        )
        reverts = f" reverts {run.reverts}" if isinstance(run.reverts, str) and run.reverts else ""
        click.echo(
            f"{run.run_id}  {run.command}{reverts}  {run.started_at}  {run.os_user}@{run.host}  "
            f"exit {run.exit_code}  {counts or 'no changes'}"
        )
    return 0


@cli.command()
@click.argument("run_id")
@_state_option
@click.option("--force", is_flag=True, help="Revert even when a later run changed the same rows.")
@click.option("--yes", is_flag=True, help="Revert without asking.")
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where reports go.")
@_logging_options
def revert(run_id, state, force, yes, report_dir):
    """Plan and apply the inverse of an applied run: the undo for an apply that succeeded
    but was wrong.

    \b
    userbatch revert 20261127T020000Z-1a2b3c
    """
    result = jobs.run_revert(
        run_id,
        state=state,
        force=force,
        report_dir=report_dir,
        confirm=_confirm(yes, "Revert these changes?"),
    )
    return _show(result, (), False, True)


@cli.command()
@_state_option
@click.option(
    "--from", "snapshot", type=click.Path(), help="Load a snapshot (.xlsx or a folder of CSVs)."
)
@click.option("--force", is_flag=True, help="Replace a store that holds data.")
@click.option("--env", help="Add an environment with this name.")
@click.option(
    "--kind",
    type=click.Choice(["dynamics365", "powerapps"]),
    default="dynamics365",
    show_default=True,
)
@click.option("--security-group", help="The new environment's security group.")
@click.option("--sku", "skus", multiple=True, metavar="NAME=UNITS", help="Add a SKU (repeatable).")
@click.option("--encoding", help="Encoding of snapshot CSVs.")
@_logging_options
def init(state, snapshot, force, env, kind, security_group, skus, encoding):
    """Create the state store, load a snapshot, or add an environment or SKUs.

    \b
    userbatch init --from samples/snapshot.xlsx
    userbatch init --env sales-prod --kind dynamics365 --security-group SG-Sales
    userbatch init --sku DYN365_ENTERPRISE_SALES=25
    """
    for message in jobs.run_init(
        state, snapshot=snapshot, force=force, env=env, kind=kind, security_group=security_group,
        skus=skus, encoding=encoding,
    ):  # fmt: skip
        log.info(message)
    return 0


@cli.command()
@_state_option
@click.option("--out", required=True, type=click.Path(), help="A .xlsx file or a folder of CSVs.")
@_logging_options
def export(state, out):
    """Write the state as a snapshot; export then plan gives zero changes.

    \b
    userbatch export --out snapshot.xlsx
    """
    log.info(f"exported to {jobs.run_export(state, out)}")
    return 0


@cli.command()
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_logging_options
def status(state, as_json):
    """Users per environment (enabled, disabled, stub, non-interactive, application) and
    seats used/total per SKU.

    \b
    userbatch status
    userbatch status --json
    """
    facts = jobs.status(state)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return 0
    click.echo(f"Tenant users: {facts['tenant_users']:,}")
    for env in facts["environments"]:
        click.echo(
            f"{env['environment']} ({env['kind']}): {env['enabled']:,} enabled, {env['disabled']:,} disabled, "
            f"{env['stub']:,} stub, {env['non_interactive']:,} non-interactive, {env['application']:,} application"
        )
    for sku in facts["skus"]:
        click.echo(f"{sku['sku']}: {sku['used']:,}/{sku['total']:,} seats used")
    return 0


def main() -> None:
    try:
        cli.main(prog_name="userbatch", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code == 2 or code is None or isinstance(code, int):
            raise
        raise SystemExit(EXIT_USAGE) from None
