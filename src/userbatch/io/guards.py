"""Refuse unsafe files before any parser sees them (SPEC §6 exit 1).

Every refusal is an ``UnsafeFileError`` with a one-line message naming the file. Workbooks
are checked as zip archives with ``zipfile`` (count, declared size, compression ratio)
before calamine opens them, so a zip bomb is refused by its directory, not by expanding it.
"""

from __future__ import annotations

import codecs
import os
import zipfile
from pathlib import Path

from userbatch.errors import UnsafeFileError
from userbatch.io.encodings import bom_encoding

# A million-row users CSV is about 200 MB; USERBATCH_MAX_BYTES raises or lowers the cap.
DEFAULT_MAX_BYTES = int(os.environ.get("USERBATCH_MAX_BYTES", 1024 * 1024 * 1024))
MAX_ZIP_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024
# Deflate tops out near 1032:1; real workbooks stay far below 100:1.
MAX_COMPRESSION_RATIO = 200
RATIO_MIN_BYTES = 1024 * 1024  # tiny entries may compress oddly; only judge big ones
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
TABLE_SUFFIXES = (".csv", *WORKBOOK_SUFFIXES)
_SNIFF_BYTES = 64 * 1024
# Bytes below space other than tab, LF, FF and CR: text files do not hold them.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def refuse(name: str, reason: str) -> UnsafeFileError:
    return UnsafeFileError(f"cannot read {name}: {reason}")


def check_size(path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """The file's size; refuses a missing path, a non-file, an empty or an oversized file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise refuse(name, "no such file") from None
    except OSError as exc:
        raise refuse(name, exc.strerror or str(exc)) from None
    if not path.is_file():
        raise refuse(name, "not a file")
    if size == 0:
        raise refuse(name, "the file is empty")
    if size > max_bytes:
        raise refuse(name, f"{size:,} bytes is over the {max_bytes:,}-byte limit")
    return size


def read_text_bytes(
    path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES, encoding: str | None = None
) -> bytes:
    """The bytes of a CSV, refused when empty, oversized or binary."""
    check_size(path, name, max_bytes)
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)  # the file may have grown since stat
    if len(raw) > max_bytes:
        raise refuse(name, f"over the {max_bytes:,}-byte limit")
    check_text(raw, name, encoding)
    return raw


def check_text(raw: bytes, name: str, encoding: str | None = None) -> None:
    """Refuse a CSV that is only whitespace, holds NUL bytes or looks binary."""
    wide = encoding or bom_encoding(raw)
    if wide and codecs.lookup(wide).name.startswith(("utf-16", "utf-32")):
        # NUL bytes are how UTF-16 writes ASCII; only emptiness can be judged cheaply.
        if not raw[:_SNIFF_BYTES].decode(wide, "replace").strip("\ufeff \t\r\n"):
            raise refuse(name, "the file is empty")
        return
    head = raw[:_SNIFF_BYTES]
    if not head.strip() and not raw.strip():  # the head first: strip() copies
        raise refuse(name, "the file is empty")
    if b"\x00" in raw:
        raise refuse(name, "binary data (NUL bytes), not a text CSV")
    if len(head.translate(None, _CONTROL)) < len(head) * 0.95:
        raise refuse(name, "binary data, not a text CSV")


def check_workbook(path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Refuse an encrypted, corrupt or zip-bomb workbook before calamine opens it."""
    check_size(path, name, max_bytes)
    with path.open("rb") as handle:
        magic = handle.read(len(OLE2_MAGIC))
    if magic == OLE2_MAGIC:
        raise refuse(
            name,
            "an encrypted (password-protected) or legacy .xls Office file; "
            "save it without a password as .xlsx",
        )
    if not zipfile.is_zipfile(path):
        raise refuse(name, "not a valid .xlsx workbook (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse(name, f"corrupt workbook ({exc})") from None
    _check_entries(entries, name)


def _check_entries(entries: list[zipfile.ZipInfo], name: str) -> None:
    if len(entries) > MAX_ZIP_ENTRIES:
        raise refuse(name, f"{len(entries):,} zip entries is over the {MAX_ZIP_ENTRIES:,} limit")
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise refuse(name, "not an Excel workbook (a zip archive without a workbook inside)")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise refuse(name, f"expands to {total:,} bytes, over the zip size limit")
    packed = sum(entry.compress_size for entry in entries)
    for entry in entries:
        if entry.file_size >= RATIO_MIN_BYTES and (
            entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1)
        ):
            raise refuse(name, f"zip entry {entry.filename} is compressed suspiciously (zip bomb)")
    if total >= RATIO_MIN_BYTES and total > MAX_COMPRESSION_RATIO * max(packed, 1):
        raise refuse(name, "compressed suspiciously (zip bomb)")
