"""Validate the kind frames read from the inputs (SPEC §2): schemas, duplicates, cross-file.

``validate(read)`` takes the reader's ``ReadResult`` (duck-typed: ``frames``, ``columns``,
``problems``, ``inputs``, ``rejected_files``) and returns a ``Validation``: the kind frames
with `key` and `outcome` (`valid`/`invalid`), valid rows normalized, and the one problems
table with reading's problems first, then every failure as a row an administrator can act on.

Per-cell checks run through each kind's pandera schema (``lazy=True``, on the arrow-backed
`str` dtype); their failure cases become problem rows with our own messages. Checks that
compare rows (duplicates) or kinds (unknown users) are plain vectorized pandas here, because
their message names another row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.config
import pandera.errors
import pyarrow
import pyarrow.compute as pc
from pandera.config import ValidationDepth

from userbatch.frames import release_memory
from userbatch.problems import Problems
from userbatch.schemas import ENUMS, KEYS, SCHEMAS
from userbatch.schemas.common import (
    APPLICATION_ID_MISSING,
    UPN_PATTERN,
    arrow,
    canonical_boolean,
    canonical_enum,
    clear_mask,
    fold,
    matches,
    message,
    per_value_str,
)
from userbatch.vocabulary import (
    CLEAR,
    COLUMNS,
    DEFAULT_ACTION,
    ENTITY_OF_KIND,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REJECTED,
    KINDS,
    REQUIRED,
    SOURCE_COLUMNS,
)

# Dataframe-wide checks: the column their problem points at, and its message.
FRAME_CHECKS = {"application_id": ("application_id", APPLICATION_ID_MISSING)}
# Never echo these in a problem's value or message (R1).
SECRET_COLUMNS = ("password",)
# Rows of these kinds name a user that the users input may hold (cross-file check).
USER_REFERENCES = {
    "licenses": "user_principal_name",
    "roles": "user_principal_name",
    "memberships": "member",
}
UNKNOWN_USER_MESSAGE = (
    "{column} {value} is not in this input's users; checked against the environment at plan time"
)
_FAILURE_COLUMNS = ["position", "column", "value", "rule", "level", "message"]


@dataclass
class Validation:
    """Kind frames with `key` and `outcome`, and every problem found so far."""

    frames: dict[str, pd.DataFrame]
    columns: dict[str, list[str]]
    problems: Problems
    inputs: list[dict] = field(default_factory=list)
    rejected_files: list[str] = field(default_factory=list)

    def take_frames(self) -> dict[str, pd.DataFrame]:
        """The kind frames, handed over: this Validation keeps none after (so a planner can
        let their input columns go; ``count`` and ``exit_code`` need them, ask first)."""
        frames, self.frames = self.frames, {}
        return frames

    def count(self, outcome: str) -> int:
        return sum(int((frame["outcome"] == outcome).sum()) for frame in self.frames.values())

    def exit_code(self, strict: bool = False) -> int:
        """SPEC §6: 3 when no row passed (or strict and anything failed), 4 partial, else 0."""
        valid = self.count("valid")
        failed = self.count("invalid") > 0 or bool(self.rejected_files)
        if valid == 0 or (strict and failed):
            return EXIT_REJECTED
        return EXIT_PARTIAL if failed else EXIT_OK


def validate(read) -> Validation:
    """Validate every kind frame of ``read``; never raises for bad rows, only reports them."""
    problems = Problems()
    if getattr(read, "problems", None) is not None:
        problems.extend(read.problems)  # reading's problems first, then ours
    frames = {kind: _prepare(read.frames.get(kind), kind) for kind in KINDS}
    users = _user_codes(frames)
    failures = {kind: _row_failures(frame, kind, users) for kind, frame in frames.items()}
    for kind, frame in frames.items():
        frame["outcome"] = _outcome(len(frame), failures[kind]["position"])
    for kind, warnings in _unknown_users(frames, users).items():
        both = pd.concat([failures[kind], warnings], ignore_index=True)
        failures[kind] = both.sort_values("position", kind="stable", ignore_index=True)
    for kind, frame in frames.items():
        _add_problems(problems, frame, kind, failures[kind])
        _normalize(frame, kind, (frame["outcome"] == "valid").to_numpy())
    columns = {kind: [] for kind in KINDS} | dict(getattr(read, "columns", None) or {})
    # Hashing and regexes freed ~100 MiB at 300k rows; hand the pages back for the plan.
    release_memory()
    return Validation(
        frames=frames,
        columns=columns,
        problems=problems,
        inputs=list(getattr(read, "inputs", None) or []),
        rejected_files=list(getattr(read, "rejected_files", None) or []),
    )


def _outcome(rows: int, failing: pd.Series) -> pd.Series:
    """`invalid` for a row with any error, else `valid` (SPEC §7 outcome)."""
    invalid = np.zeros(rows, dtype=np.int8)
    invalid[failing.to_numpy(dtype="int64")] = 1
    # Arrow's take builds the column directly; np.where would make a Python str per row.
    return pd.Series(pc.take(_OUTCOMES, pyarrow.array(invalid)), dtype="str")


_OUTCOMES = pyarrow.array(["valid", "invalid"], pyarrow.large_string())


# --- preparing a kind frame ---


def _prepare(frame: pd.DataFrame | None, kind: str) -> pd.DataFrame:
    """A shallow copy with every canonical column as `str`, a RangeIndex, and `key`."""
    if frame is None:
        frame = pd.DataFrame()
    frame = frame.copy(deep=False)
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    wanted = (*SOURCE_COLUMNS[:2], *COLUMNS[kind])
    absent = [c for c in wanted if c not in frame]
    if absent:
        nothing = pd.Series(pyarrow.nulls(len(frame), _TEXT), index=frame.index, dtype="str")
        frame = pd.concat([frame, pd.DataFrame(dict.fromkeys(absent, nothing))], axis=1)
    for column in wanted:
        dtype = frame[column].dtype
        if dtype != "str" and not (
            column == "source_file" and isinstance(dtype, pd.CategoricalDtype)
        ):
            frame[column] = frame[column].astype("str")  # the readers' source_file: categorical
    if "source_row" not in frame:
        frame["source_row"] = pd.Series(np.arange(2, len(frame) + 2), index=frame.index)
    frame["key"] = _key(frame, kind)
    return frame


def _key(frame: pd.DataFrame, kind: str) -> pd.Series:
    """SPEC §7 `key`: lower-cased UPN; `upn|sku`; `group|member`; `environment|upn|role`; …

    Built in Arrow: ``str.cat`` goes through a Python object per cell.
    """
    parts = []
    for column in KEYS[kind]:
        values = arrow(frame[column])
        if column == "user_principal_name":
            values = pc.utf8_lower(values)
        elif column == "member":  # a member UPN compares lower-cased; a group name as written
            values = pc.if_else(pc.match_substring(values, "@"), pc.utf8_lower(values), values)
        parts.append(values)
    if len(parts) == 1:
        return pd.Series(parts[0], index=frame.index, dtype="str")
    # Nulls filled first: binary_join_element_wise's null_handling="skip" drops all-null rows.
    filled = [pc.fill_null(part.cast(_TEXT), "") for part in parts]
    joined = pc.binary_join_element_wise(*filled, pyarrow.scalar("|", _TEXT))
    return pd.Series(joined, index=frame.index, dtype="str")


_TEXT = pyarrow.large_string()


# --- failures of one kind: pandera's failure cases, then duplicates ---


def _row_failures(frame: pd.DataFrame, kind: str, users: _UserCodes) -> pd.DataFrame:
    """Every error of ``kind`` as rows of position, column, value, rule, level, message."""
    if frame.empty:
        return _no_failures()
    codes = _key_codes(frame, kind, users)
    parts = [_schema_failures(frame, kind), _duplicate_failures(frame, kind, codes)]
    failures = pd.concat([p for p in parts if len(p)] or [_no_failures()], ignore_index=True)
    return failures.sort_values("position", kind="stable", ignore_index=True)


def _schema_failures(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The per-cell checks of the kind's schema.

    Data checks only: _prepare has made every column present, named once and `str`, so
    pandera's schema-level checks (presence, dtype, nullable) cannot fail, and its dtype
    check alone cost ~0.1 s per million rows (a per-cell result, filtered and printed).
    """
    schema_model = SCHEMAS[kind]
    try:
        with pandera.config.config_context(validation_depth=ValidationDepth.DATA_ONLY):
            schema_model.validate(frame, lazy=True, inplace=True)
    except pandera.errors.SchemaErrors as errors:
        return _from_failure_cases(errors.failure_cases, schema_model.to_schema(), frame)
    return _no_failures()


def _from_failure_cases(cases: pd.DataFrame, schema, frame: pd.DataFrame) -> pd.DataFrame:
    """Map pandera's failure cases (index, column, check) to problem rows, one per cell."""
    cases = cases[cases["index"].notna()]
    whole = (cases["schema_context"] == "DataFrameSchema").to_numpy()
    parts = []
    # A dataframe-wide check lists each failing row once per column: one problem per row.
    for number, group in cases[whole].groupby("check_number", sort=False):
        positions = group["index"].astype("int64").drop_duplicates()
        parts.append(_frame_check_failures(schema.checks[int(number)], frame, positions))
    for (column, number), group in cases[~whole].groupby(["column", "check_number"], sort=False):
        check = schema.columns[column].checks[int(number)]
        values = group["failure_case"].astype("str")
        part = _failures(group["index"].astype("int64"), column, values, check.name)
        part["message"] = message(check.name, column, values, check.statistics).to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else _no_failures()


def _frame_check_failures(check, frame: pd.DataFrame, positions: pd.Series) -> pd.DataFrame:
    column, text = FRAME_CHECKS.get(check.name, (None, f"fails the {check.name} check"))
    values = frame[column].iloc[positions.to_numpy()] if column else None
    part = _failures(positions, column, values, check.name)
    part["message"] = text
    return part


def _failures(positions, column, values, rule: str, level: str = "error") -> pd.DataFrame:
    positions = np.asarray(positions, dtype="int64")
    if values is None:
        values = pd.Series(np.nan, index=range(len(positions)), dtype="str")
    return pd.DataFrame(
        {
            "position": positions,
            "column": column,
            "value": pd.Series(np.asarray(values, dtype=object), dtype="str"),
            "rule": rule,
            "level": level,
            "message": "",
        }
    )


def _no_failures() -> pd.DataFrame:
    return _NO_FAILURES.copy(deep=False)


_NO_FAILURES = pd.DataFrame({c: pd.Series(dtype="str") for c in _FAILURE_COLUMNS}).astype(
    {"position": "int64"}
)


def _duplicate_failures(frame: pd.DataFrame, kind: str, codes: np.ndarray) -> pd.DataFrame:
    """Later rows with the key of an earlier one (case-insensitive) fail `duplicate`.

    ``codes``: each row's case-insensitive key as an integer (_key_codes).
    """
    required = [c for c in KEYS[kind] if c in REQUIRED[kind]]
    eligible = np.logical_and.reduce(
        [frame[c].notna().to_numpy() & ~clear_mask(frame[c]) for c in required]
    )
    candidates = np.flatnonzero(eligible)
    # np.unique's index is each code's first eligible row; every other eligible row is later.
    first_of = np.zeros(int(codes.max(initial=-1)) + 1, dtype="int64")
    distinct, firsts = np.unique(codes[candidates], return_index=True)
    first_of[distinct] = candidates[firsts]
    positions = candidates[first_of[codes[candidates]] != candidates]
    if not len(positions):
        return _no_failures()
    column = KEYS[kind][-1]  # the cell that tells the rows apart: upn, sku, member, role, id
    part = _failures(positions, column, frame[column].iloc[positions], "duplicate")
    part["message"] = ("duplicate of " + _where(frame, first_of[codes[positions]])).to_numpy()
    return part


def _key_codes(frame: pd.DataFrame, kind: str, users: _UserCodes) -> np.ndarray:
    """Each row's key, case-insensitive, as an integer: equal keys, equal codes.

    The users' keys and the user column of licenses, roles and memberships are coded
    already (_user_codes). The other key columns (sku, group, role, environment) repeat a
    few values, so coding each and pairing the codes costs a third of hashing the joined
    keys. Pairs of codes equal joined keys only when no part holds "|" or is "" (a blank
    part is "" in the key): otherwise the joined keys are hashed after all.
    """
    if kind == "users":
        return users.users
    reference = users.references.get(kind)
    if reference is None or not all(_plain(frame[column]) for column in KEYS[kind]):
        return _codes(pc.utf8_lower(arrow(frame["key"])))
    codes = np.zeros(len(frame), dtype="int64")
    for column in KEYS[kind]:
        if column == USER_REFERENCES[kind]:
            part = reference
        else:
            part = _codes(pc.utf8_lower(arrow(frame[column])))
        width = int(part.max(initial=-1)) + 2  # codes from -1 (blank) up
        codes = pd.factorize(codes * width + part + 1)[0]
    return codes


def _plain(values: pd.Series) -> bool:
    """No value holds "|" or is "" (the readers make blanks missing, so it never is)."""
    array = arrow(values)
    piped = pc.any(pc.match_substring(array, "|")).as_py()
    return not piped and not pc.any(pc.equal(pc.binary_length(array), 0)).as_py()


def _codes(values: pyarrow.ChunkedArray | pyarrow.Array) -> np.ndarray:
    """One integer per distinct value, -1 for a missing one, from a single Arrow hash pass."""
    encoded = pc.dictionary_encode(values)
    chunks = encoded.chunks if isinstance(encoded, pyarrow.ChunkedArray) else [encoded]
    if not chunks:
        return np.zeros(0, dtype="int64")
    indices = [pc.fill_null(c.indices, -1).to_numpy() for c in chunks]
    return np.concatenate(indices).astype("int64", copy=False)


def _where(frame: pd.DataFrame, positions: np.ndarray) -> pd.Series:
    """'users.csv row 4' or 'book.xlsx sheet users row 4' for each position."""
    rows = frame[list(SOURCE_COLUMNS)].iloc[positions]
    sheet = (" sheet " + rows["source_sheet"].astype("str")).fillna("")
    row = rows["source_row"].astype("int64").astype("str")
    file = rows["source_file"].astype("str").fillna("")  # str or the readers' categorical
    return (file + sheet + " row " + row).reset_index(drop=True)


# --- cross-file: references to users the input does not hold ---


class _UserCodes(NamedTuple):
    """Codes of the users' keys and of every (lower-cased) reference to a user, alike."""

    users: np.ndarray  # each users row's key code: its duplicates
    known: np.ndarray  # per code: whether a users row has that key
    references: dict[str, np.ndarray]  # per USER_REFERENCES kind: each row's code, -1 blank


def _user_codes(frames: dict[str, pd.DataFrame]) -> _UserCodes:
    """One Arrow hash pass over all of them together (about 3x faster than is_in per kind).

    References matter only when there is a users input (see _unknown_users).
    """
    parts = {"users": arrow(frames["users"]["key"])}
    if not frames["users"].empty:
        for kind, column in USER_REFERENCES.items():
            if not frames[kind].empty:
                parts[kind] = pc.utf8_lower(arrow(frames[kind][column]))
    chunks = [c for part in parts.values() for c in _chunks(part)]
    codes = _codes(pyarrow.chunked_array(chunks, _TEXT))
    ends = np.cumsum([len(part) for part in parts.values()])
    split = dict(zip(parts, np.split(codes, ends[:-1]), strict=True))
    users = split.pop("users")
    known = np.zeros(int(codes.max(initial=-1)) + 1, dtype=bool)
    known[users[users >= 0]] = True
    return _UserCodes(users, known, split)


def _chunks(values: pyarrow.ChunkedArray | pyarrow.Array) -> list[pyarrow.Array]:
    values = values.chunks if isinstance(values, pyarrow.ChunkedArray) else [values]
    return [c if c.type == _TEXT else c.cast(_TEXT) for c in values]


def _unknown_users(frames: dict[str, pd.DataFrame], users: _UserCodes) -> dict[str, pd.DataFrame]:
    """A license, role or membership row naming a user absent from the users input: a warning.

    Only when there is a users input: a licenses file sent alone is about existing users,
    and plan checks every reference against the environment anyway (`unknown_user`).
    """
    warnings = {}
    for kind, codes in users.references.items():
        frame, column = frames[kind], USER_REFERENCES[kind]
        values = frame[column]
        listed = (codes < 0) | users.known[np.maximum(codes, 0)]  # a blank is `required`'s
        unknown = (frame["outcome"] == "valid").to_numpy() & ~listed
        positions = np.flatnonzero(unknown)
        if kind == "memberships":  # a member that does not look like a UPN is a group
            positions = positions[matches(values.iloc[positions], UPN_PATTERN).to_numpy()]
        if len(positions):
            part = _failures(positions, column, values.iloc[positions], "unknown_user", "warning")
            head, tail = UNKNOWN_USER_MESSAGE.split("{value}")
            part["message"] = (head.format(column=column) + part["value"] + tail).to_numpy()
            warnings[kind] = part
    return warnings


# --- problems and normalization ---


def _add_problems(problems: Problems, frame: pd.DataFrame, kind: str, failures) -> None:
    """Append the failures of one kind, in row order, as problem rows; secrets blanked (R1)."""
    if not len(failures):
        return
    rows = frame[[*SOURCE_COLUMNS, "key"]].iloc[failures["position"].to_numpy()]
    value = failures["value"].mask(failures["column"].isin(SECRET_COLUMNS))
    part = pd.DataFrame(
        {
            "source_file": rows["source_file"].to_numpy(),
            "source_sheet": rows["source_sheet"].to_numpy(),
            "source_row": rows["source_row"].to_numpy(),
            "column": failures["column"].to_numpy(),
            "value": value.to_numpy(),
            "entity": ENTITY_OF_KIND[kind],
            "key": rows["key"].to_numpy(),
            "rule": failures["rule"].to_numpy(),
            "level": failures["level"].to_numpy(),
            "message": failures["message"].to_numpy(),
        }
    )
    problems.add(part)


def _normalize(frame: pd.DataFrame, kind: str, valid: np.ndarray) -> None:
    """Valid rows only: enums canonical, action defaulted, yes/no, upper-case country."""
    if not valid.any():
        return
    canonical = {
        column: canonical_enum(frame[column], allowed) for column, allowed in ENUMS[kind].items()
    }
    if "action" in canonical:
        action = arrow(canonical["action"])
        defaulted = pc.fill_null(pc.equal(action, CLEAR), True)  # blank or (clear)
        canonical["action"] = pc.if_else(defaulted, DEFAULT_ACTION[kind], action)
    if kind == "users":
        canonical["sign_in_allowed"] = canonical_boolean(frame["sign_in_allowed"])
        canonical["usage_location"] = _upper_country(frame["usage_location"])
        canonical.update(_clears(frame, exclude=set(canonical)))
    # Arrow's if_else: pandas' where took ~4x as long (a mask round trip per column).
    keep = None if valid.all() else pyarrow.array(valid)
    for column, values in canonical.items():
        if keep is not None:
            values = pc.if_else(keep, arrow(values), arrow(frame[column]))
        frame[column] = pd.Series(values, index=frame.index, dtype="str")


def _upper_country(series: pd.Series) -> pd.Series:
    return per_value_str(series, lambda v: CLEAR if fold(v) == CLEAR else v.upper())


def _clears(frame: pd.DataFrame, exclude: set[str]) -> dict[str, pd.Series]:
    """`(clear)` written in another case, spelled canonically, in the optional text columns."""
    out = {}
    for column in COLUMNS["users"]:
        if column in exclude or column in REQUIRED["users"]:
            continue
        values = frame[column]
        respelled = clear_mask(values)
        if respelled.any():
            out[column] = values.mask(respelled, CLEAR)
    return out
