"""Regenerate the encoded and binary files of tests/data (run from anywhere; idempotent).

The text samples beside this script are written by hand; these are the ones an editor
cannot write: other encodings, binary garbage, broken and hostile workbooks.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
HOSTILE = HERE / "hostile"

# The same users, as Excel would save them three ways (SPEC §2 encodings).
USERS = [
    ["user_principal_name", "first_name", "last_name", "display_name", "country_or_region"],
    ["zoe.muller@contoso.com", "Zoë", "Müller", "Zoë Müller", "Deutschland"],
    ["francois@contoso.com", "François", "Lefèvre", "François Lefèvre", "France"],
    ["nia@contoso.com", "Nia", "Ndlovu", "Nia Ndlovu", "NA"],
]


def _lines(delimiter: str) -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in USERS)


def _minimal_xlsx() -> bytes:
    """A real one-sheet workbook, written by openpyxl."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "users"
    for row in USERS:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    """A workbook-shaped zip whose sheet expands 1000:1 (10 MiB of zeros in ~10 KiB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (10 * 1024 * 1024))
    return out.getvalue()


def main() -> None:
    HOSTILE.mkdir(exist_ok=True)
    (HERE / "users_utf8_bom.csv").write_bytes(_lines(",").encode("utf-8-sig"))
    (HERE / "users_cp1252.csv").write_bytes(_lines(",").encode("cp1252"))
    # Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-separated.
    (HERE / "users_utf16.csv").write_bytes(_lines("\t").encode("utf-16"))
    rng = random.Random(7)
    (HOSTILE / "binary_garbage.csv").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))
    (HOSTILE / "empty.csv").write_bytes(b"")
    (HOSTILE / "empty.xlsx").write_bytes(b"")
    (HOSTILE / "whitespace_only.csv").write_bytes(b"  \r\n\t\r\n   \r\n")
    (HOSTILE / "zip_bomb.xlsx").write_bytes(_zip_bomb())
    # A real workbook cut in half: the zip's central directory is gone.
    workbook = _minimal_xlsx()
    (HOSTILE / "corrupt.xlsx").write_bytes(workbook[: len(workbook) // 2])
    # Office saves a password-protected workbook as an OLE2 compound file, .xlsx name kept.
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504
    (HOSTILE / "encrypted.xlsx").write_bytes(ole)
    (HOSTILE / "not_a_zip.xlsx").write_text("user_principal_name\r\na@contoso.com\r\n")


if __name__ == "__main__":
    main()
