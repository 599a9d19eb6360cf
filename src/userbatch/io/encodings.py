"""Turn a CSV's bytes into UTF-8 the way Excel users save them (SPEC §2).

Chain: a byte-order mark decides; else strict UTF-8; else cp1252 (Excel's "CSV" on a
Western Windows), reported because it is a guess. ``encoding=`` overrides the chain.
pyarrow parses UTF-8 only, so anything else is transcoded once here.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from userbatch.errors import UnsafeFileError, UsageError

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
FALLBACK_ENCODING = "cp1252"
DELIMITERS = (",", ";", "\t")


class Decoded(NamedTuple):
    data: bytes  # UTF-8, without a byte-order mark
    encoding: str  # the encoding the file was read with
    guessed: bool  # True when the cp1252 fallback was taken


def bom_encoding(raw: bytes) -> str | None:
    """The encoding a byte-order mark announces, or None."""
    return next((name for bom, name in BOMS if raw.startswith(bom)), None)


def to_utf8(raw: bytes, name: str, encoding: str | None = None) -> Decoded:
    """Decode ``raw`` (the file ``name``) by the chain or by ``encoding``; return UTF-8 bytes."""
    if encoding:
        check_encoding(encoding)
        return Decoded(_transcode(_strip_bom(raw, encoding), encoding, name), encoding, False)
    announced = bom_encoding(raw)
    if announced:
        return Decoded(_transcode(_strip_bom(raw, announced), announced, name), announced, False)
    if raw.isascii() or _is_utf8(raw):
        return Decoded(raw, "utf-8", False)
    return Decoded(_transcode(raw, FALLBACK_ENCODING, name), FALLBACK_ENCODING, True)


def check_encoding(encoding: str | None) -> None:
    """Refuse an ``--encoding`` Python does not know (a usage error, exit 2)."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"unknown encoding {encoding!r} (--encoding)") from None


def _strip_bom(raw: bytes, encoding: str) -> bytes:
    codec = codecs.lookup(encoding).name
    announced = bom_encoding(raw)
    # A matching mark is not data; "utf-16"/"utf-8-sig" handle their own.
    if announced and codecs.lookup(announced).name == codec:
        return raw[len(next(b for b, n in BOMS if n == announced)) :]
    return raw


def _is_utf8(raw: bytes) -> bool:
    """Strict UTF-8 check without building a Python str (10x faster at 200 MB)."""
    offsets = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64))
    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)])
    try:
        blob.cast(pa.large_string())  # Arrow validates UTF-8 on this cast
    except pa.ArrowInvalid:
        return False
    return True


def _transcode(raw: bytes, encoding: str, name: str) -> bytes:
    if codecs.lookup(encoding).name == "utf-8":
        if raw.isascii() or _is_utf8(raw):
            return raw
        raise UnsafeFileError(f"cannot read {name}: not valid UTF-8 (try --encoding cp1252)")
    try:
        return raw.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFileError(
            f"cannot read {name}: not text in {encoding} (byte {exc.start}); pass --encoding"
        ) from None


_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``,`` ``;`` tab outside quotes in the header line; ``,`` on a tie."""
    bare = _QUOTED.sub("", header_line)
    counts = [bare.count(d) for d in DELIMITERS]
    best = max(counts)
    return DELIMITERS[counts.index(best)] if best else ","
