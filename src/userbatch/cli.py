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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(kw) -> PlanOptions:
    return PlanOptions(
        env=kw["env"], default_owner=kw["default_owner"],
        reassign_stub_records=kw["reassign_stub_records"], sync_primary_email=kw["sync_primary_email"],
        allow_disable_application_users=kw["allow_disable_application_users"],
        release_licenses=kw["release_licenses"], strict=kw["strict"],
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


def _run_plan(inputs, read, state, kw, *, apply, check=False, yes=False):
    confirm = None
    if apply and not yes and sys.stdin.isatty():

        def confirm(plan):
            click.echo(change_summary(plan.report_changes(), done=False))
            return click.confirm("Apply these changes?", default=False)

    result = jobs.run_plan(
        inputs, state=state, read=read, options=_options(kw), report_dir=kw["report_dir"],
        apply=apply, check=check, confirm=confirm,
    )  # fmt: skip
    for message in result.messages:
        log.error(message)
    changes = result.plan.report_changes()
    if kw["verbose"]:
        for line in change_lines(changes):
            click.echo(line)
    log.info(outcome_summary(result.plan.frames))
    if apply and result.applied:
        log.info(change_summary(changes, done=True))
    else:
        log.info(change_summary(changes, done=False))
        if not apply and not changes.empty and result.exit_code in (0, 4, 5):
            log.info("To apply: userbatch apply " + " ".join(inputs) + " (same options)")
    log.info(f"Reports: {result.report_dir}")
    return result.exit_code


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_read_options
@_state_option
@_plan_options
@click.option("--check", is_flag=True, help="Exit 5 when changes are pending (for monitoring).")
@_logging_options
def plan(inputs, read, state, check, **kw):
    """Dry-run: compute every change, derived ones included, and write the reports.
    Never writes the store.

    \b
    userbatch plan samples/onboarding.xlsx
    userbatch plan users.csv licenses.csv --env sales-prod --verbose
    """
    return _run_plan(inputs, read, state, kw, apply=False, check=check)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@_read_options
@_state_option
@_plan_options
@click.option("--yes", is_flag=True, help="Apply without asking.")
@_logging_options
def apply(inputs, read, state, yes, **kw):
    """Plan and apply in one transaction: a crash leaves the store as it was.
    Temporary passwords go to credentials.csv (mode 0600) only.

    \b
    userbatch apply samples/onboarding.xlsx --yes
    """
    return _run_plan(inputs, read, state, kw, apply=True, yes=yes)


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
