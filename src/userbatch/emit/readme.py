"""README.txt: the emitted files in the order to use them, one line each."""

from __future__ import annotations

import re
from pathlib import Path

from userbatch.emit.entra import Entry

README_NAME = "README.txt"

# Why this order: users must exist before anything refers to them; the script's sync
# needs them licensed and in the environment's security group (R4); deletions come after
# the license removals that free their seats (R7); records need their owners (R12).
STEPS = (
    ("01-entra-bulk-create-users-", "1. Create users"),
    ("02-entra-bulk-", "2. Group members"),
    ("userbatch-changes.ps1", "3. Licenses, user updates and environment sync (PowerShell)"),
    ("04-entra-bulk-delete-users", "4. Delete users"),
    ("records-", "5. Import records (Dataverse Data Import Wizard)"),
)
_FOOTER = """6. Security roles, by hand
   userbatch-changes.ps1 ends with a comment block listing, per environment, the security
   roles to assign or remove in the Power Platform admin center (and any other change no
   supported cmdlet makes simply).

Files are UTF-8 (Entra CSVs without BOM, as Entra's template; the records CSVs and the
script with one, for Windows tools). Values are written unaltered: no spreadsheet formula
neutralization. Files holding initial passwords are readable by their owner only (0600):
delete them once the users exist.
"""


def write_readme(out_dir: Path, entries: list[Entry]) -> Entry:
    lines = ["userbatch: files for Microsoft's tools, in the order to use them", ""]
    for prefix, title in STEPS:
        mine = [e for e in entries if e.path.name.startswith(prefix)]
        if mine:
            lines.append(title)
            lines += [f"   {e.path.name}: {_one_line(e.note)}" for e in mine]
            lines.append("")
    path = out_dir / README_NAME
    path.write_text("\n".join(lines) + "\n" + _FOOTER, encoding="utf-8", newline="\r\n")
    return Entry(path, "this file")


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text)
