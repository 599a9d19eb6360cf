"""One exception family; each kind carries its SPEC §6 exit code.

The library raises these; only ``cli.py`` turns them into a one-line message and an exit code.
"""


class UserbatchError(Exception):
    """Base of every expected failure. ``exit_code`` is the SPEC §6 code."""

    exit_code = 1


class FatalError(UserbatchError):
    """Exit 1: a file unreadable or unsafe, missing store, lock held, guard refused, stale plan."""

    exit_code = 1


class UnsafeFileError(FatalError):
    """Exit 1: binary, corrupt, encrypted, over the size or zip guards, or empty."""


class StoreMissingError(FatalError):
    """Exit 1: the state store does not exist yet."""


class UsageError(UserbatchError):
    """Exit 2: the command line is wrong."""

    exit_code = 2


class InputRejectedError(UserbatchError):
    """Exit 3: no row passed validation (header-only, missing required column, duplicate headers)."""

    exit_code = 3
