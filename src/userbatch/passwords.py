"""R1: temporary passwords from ``secrets``, in bulk, meeting Microsoft's complexity rules.

Each has 16 characters with an upper-case letter, a lower-case letter, a digit and a symbol,
and starts with a letter, so it never starts with = + - @ (no spreadsheet formula).
"""

from __future__ import annotations

import secrets

import numpy as np

UPPER = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
LOWER = np.array(list("abcdefghijkmnopqrstuvwxyz"))
DIGITS = np.array(list("23456789"))
SYMBOLS = np.array(list("!#$%*?"))
# 64 symbols: a byte modulo 64 picks one without bias.
REST = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%*?&"))
LENGTH = 16


def _pick(alphabet: np.ndarray, n: int) -> np.ndarray:
    # 32 random bits per pick: the modulo bias is below 1e-8.
    raw = np.frombuffer(secrets.token_bytes(4 * n), dtype=np.uint32)
    return alphabet[raw % len(alphabet)]


def generate_passwords(n: int) -> list[str]:
    """``n`` temporary passwords; the character classes sit at shuffled inner positions."""
    if n == 0:
        return []
    rest = REST[np.frombuffer(secrets.token_bytes(n * (LENGTH - 1)), dtype=np.uint8) % 64]
    chars = np.column_stack([_pick(UPPER, n), rest.reshape(n, LENGTH - 1)])
    # Put one lower, digit and symbol at distinct positions 1..15 of each password.
    slots = (
        np.argsort(
            np.frombuffer(secrets.token_bytes(4 * n * (LENGTH - 1)), dtype=np.uint32).reshape(
                n, LENGTH - 1
            ),
            axis=1,
        )[:, :3]
        + 1
    )
    rows = np.arange(n)
    chars[rows, slots[:, 0]] = _pick(LOWER, n)
    chars[rows, slots[:, 1]] = _pick(DIGITS, n)
    chars[rows, slots[:, 2]] = _pick(SYMBOLS, n)
    return ["".join(row) for row in chars]
