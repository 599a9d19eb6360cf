"""The environment state as one DataFrame per snapshot sheet (SPEC §3).

Every value is text (pandas ``str``) except ``skus.total_units``; booleans are ``yes``/``no``.
Keeping one representation in memory, in the store and in snapshots is what makes
export → plan give zero changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.vocabulary import USER_COLUMNS

TENANT_USER_COLUMNS = tuple(c for c in USER_COLUMNS if c not in ("password", "action"))
ENV_USER_COLUMNS = (
    "environment", "user_name", "full_name", "title", "primary_email", "main_phone",
    "mobile_phone", "fax", "address", "access_mode", "user_type", "status",
    "invitation_required",
)  # fmt: skip

# sheet -> (columns, key columns). Keys compare case-insensitively where they are names.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "environments": (
        ("name", "kind", "security_group", "allow_role_assignment_on_disabled_users"),
        ("name",),
    ),
    "skus": (("sku", "total_units", "grants_access"), ("sku",)),
    "domains": (("domain",), ("domain",)),
    "users": (TENANT_USER_COLUMNS, ("user_principal_name",)),
    "licenses": (("user_principal_name", "sku"), ("user_principal_name", "sku")),
    "groups": (("name",), ("name",)),
    "memberships": (("group", "member"), ("group", "member")),
    "security_roles": (("environment", "role"), ("environment", "role")),
    "roles": (
        ("user_principal_name", "role", "environment"),
        ("environment", "user_principal_name", "role"),
    ),
    "environment_users": (ENV_USER_COLUMNS, ("environment", "user_name")),
    "records": (
        ("environment", "table", "record_id", "owner", "data"),
        ("environment", "table", "record_id"),
    ),
}
INT_COLUMNS = {("skus", "total_units")}


def empty_table(name: str) -> pd.DataFrame:
    columns, _ = TABLES[name]
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if (name, c) in INT_COLUMNS else "str") for c in columns}
    )


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns in order and dtypes, missing ones added; extra ones dropped."""
    columns, _ = TABLES[name]
    out = frame.reindex(columns=list(columns)).reset_index(drop=True)
    for c in columns:
        if (name, c) in INT_COLUMNS:
            out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0).astype("int64")
        else:
            text = out[c].astype("str")
            # Only columns holding "" are rewritten: replace() copies even when nothing
            # matches, and conform runs on every planned table.
            out[c] = text.replace("", pd.NA) if _has_empty(text) else text
    return out


def _has_empty(text: pd.Series) -> bool:
    """Whether a ``str`` Series holds "": from the Arrow offsets, without comparing text
    or making a numpy mask (``eq("").any()`` did both, on every column of every table)."""
    if not len(text):
        return False
    # The shortest text that is not missing (min skips nulls): one kernel and a reduction.
    return pc.min(pc.binary_length(pa.array(text, from_pandas=True))).as_py() == 0


@dataclass
class State:
    """One tenant and its environments: a frame per table of ``TABLES``."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in TABLES:
            frame = self.tables.get(name)
            self.tables[name] = empty_table(name) if frame is None else conform(name, frame)

    @classmethod
    def conformed(cls, tables: dict[str, pd.DataFrame]) -> State:
        """A State of frames already conformed, every table present (the store's load):
        conforming again would scan every text column once more."""
        new = cls.__new__(cls)
        new.tables = dict(tables)
        return new

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def replace(self, **frames: pd.DataFrame) -> State:
        """A new State with some tables replaced (conformed); the others are shared as they
        are, so a diff can skip them."""
        new = State.__new__(State)
        new.tables = {**self.tables, **{n: conform(n, f) for n, f in frames.items()}}
        return new

    def is_empty(self) -> bool:
        return all(frame.empty for frame in self.tables.values())
