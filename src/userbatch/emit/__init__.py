"""Emit: the applied plan as files Microsoft's own tools take unchanged (issue 6).

``write_emit`` writes, into one folder, the Entra ID bulk-operation CSVs (create, group
members, delete), one PowerShell script for what the portal cannot do (licenses, updates,
environment sync; roles listed for the admin), one Dataverse import file per environment
and table, and a README.txt giving the order to use them.

These files are for Microsoft's tools, so no CSV formula neutralization is applied (SPEC
§7): values are written unaltered, quoted per RFC 4180 by the csv module, UTF-8 without a
BOM and CRLF line ends, as Entra's own template download is.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from userbatch.emit.dataverse import write_records
from userbatch.emit.entra import (
    tenant_changes,
    write_bulk_create,
    write_bulk_delete,
    write_group_members,
)
from userbatch.emit.powershell import SCRIPT_NAME, write_script
from userbatch.emit.readme import README_NAME, write_readme
from userbatch.errors import UsageError

__all__ = ["DEFAULT_CHUNK_ROWS", "check_emit_dir", "write_emit"]

# Rows per Entra bulk-create file: one upload finishes within Entra's one-hour job limit.
DEFAULT_CHUNK_ROWS = 40_000

# Files of an earlier emit into the same folder: removed first, so a stale chunk (with
# old passwords) is never mistaken for this run's.
_OWN_FILES = (
    "01-entra-bulk-create-users-*.csv",
    "02-entra-bulk-add-members-*.csv",
    "02-entra-bulk-remove-members-*.csv",
    SCRIPT_NAME,
    "04-entra-bulk-delete-users.csv",
    "records-*.csv",
    README_NAME,
)


def write_emit(
    out_dir: Path,
    plan,
    credentials: pd.DataFrame,
    *,
    report_dir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[Path]:
    """Write the emitted files of ``plan`` into ``out_dir``; return them in the order of use.

    ``credentials`` (user_principal_name, password) supplies the initial passwords of the
    created users (R1). ``out_dir`` must not be inside ``report_dir``: the emitted files
    hold passwords and are not reports.
    """
    out_dir = Path(out_dir)
    check_emit_dir(out_dir, report_dir, chunk_rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir)
    tenant = tenant_changes(plan.report_changes())
    entries = [
        *write_bulk_create(out_dir, plan, tenant, credentials, chunk_rows),
        *write_group_members(out_dir, plan, tenant),
        write_script(out_dir, plan),
        *write_bulk_delete(out_dir, plan, tenant),
        *write_records(out_dir, plan),
    ]
    entries.append(write_readme(out_dir, entries))
    return [entry.path for entry in entries]


def check_emit_dir(
    out_dir: Path, report_dir: Path | None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> None:
    """Raise ``UsageError`` for an emit folder inside the report folder or a chunk size
    under 1: call it before apply, so a bad ``--emit`` never follows a done apply."""
    if chunk_rows < 1:
        raise UsageError(
            f"--emit: rows per Entra bulk-create file must be 1 or more, not {chunk_rows}"
        )
    if report_dir is None:
        return
    out, reports = out_dir.resolve(), Path(report_dir).resolve()
    if out == reports or out.is_relative_to(reports):
        raise UsageError(
            f"--emit {out_dir}: the folder must not be inside the report folder {report_dir} "
            "(the emitted files hold passwords)"
        )


def _remove_stale(out_dir: Path) -> None:
    for pattern in _OWN_FILES:
        for path in out_dir.glob(pattern):
            if path.is_file() or path.is_symlink():
                path.unlink()
