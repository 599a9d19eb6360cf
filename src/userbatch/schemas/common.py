"""The checks every kind's schema is built from (SPEC §2), and their messages.

Each check is a pandera check method whose name is the `rule` a failure reports
(`required`, `max_length`, `upn_syntax`, …). Checks are vectorized over the
arrow-backed `str` columns: regular expressions run in pyarrow (RE2, about ten times
faster than ``Series.str.fullmatch``), and low-cardinality columns (enums, booleans,
country codes) are judged once per distinct value. A missing value passes every
check but `required`; fields are declared with ``ignore_na=False`` so that
`required` sees the blanks, and the other checks let them pass themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera import extensions

from userbatch.vocabulary import CLEAR, FALSE_WORDS, MAX_LENGTH, TRUE_WORDS

# ISO 3166-1 alpha-2, the 249 officially assigned codes (usage_location, SPEC §2).
ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

# Entra ID: the name part of a UPN may hold letters, digits and ' . - _ ! # ^ ~ only,
# and a UPN needs a domain part with a dot.
_UPN_NAME = r"[A-Za-z0-9'_!#^~-]+(?:\.[A-Za-z0-9'_!#^~-]+)*"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
UPN_PATTERN = rf"^{_UPN_NAME}@{_DOMAIN}$"
# An email is looser (any non-space name, internationalized domains) but still local@domain.tld.
EMAIL_PATTERN = r"^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$"
GUID_PATTERN = r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
# `(clear)` passes the syntax checks of the fields it may empty, any case.
_CLEAR_ALT = r"|^\((?i:clear)\)$"


def fold(value: str) -> str:
    """An enum spelling compared case-, space-, `_`- and hyphen-insensitively."""
    return re.sub(r"[\s_-]+", "", value).casefold()


def arrow(series) -> pyarrow.Array | pyarrow.ChunkedArray:
    """The column's pyarrow data, zero-copy for the arrow-backed `str` dtype (chunks kept);
    Arrow data as it is (``pyarrow.array`` would combine a chunked array's chunks)."""
    if isinstance(series, (pyarrow.Array, pyarrow.ChunkedArray)):
        return series
    return pyarrow.array(series)


def to_bools(result: pyarrow.Array, missing: bool) -> np.ndarray:
    return pc.fill_null(result, missing).to_numpy(zero_copy_only=False)


def clear_mask(series: pd.Series) -> np.ndarray:
    """Cells that say `(clear)`, any case; only 7-byte cells starting "(" are looked at closely."""
    values = arrow(series)
    opening = pc.starts_with(values, "(")
    if not pc.any(opening).as_py():  # the usual column: one pass, no mask built
        return np.zeros(len(series), dtype=bool)
    shaped = pc.and_(pc.equal(pc.binary_length(values), len(CLEAR)), opening)
    candidates = to_bools(shaped, False)
    if candidates.any():
        candidates[candidates] = (series[candidates].str.lower() == CLEAR).to_numpy(dtype=bool)
    return candidates


def matches(series: pd.Series, pattern: str) -> pd.Series:
    """Regex full match in pyarrow; missing values pass."""
    ok = to_bools(pc.match_substring_regex(arrow(series), pattern), True)
    return pd.Series(ok, index=series.index)


def per_value(
    series: pd.Series, judge: Callable[[str], object], type_
) -> pyarrow.Array | pyarrow.ChunkedArray:
    """``judge`` applied once per distinct value, spread back over the rows; missing → null.

    One hash pass (dictionary_encode) where unique + index_in made two.
    """
    encoded = pc.dictionary_encode(arrow(series))
    if isinstance(encoded, pyarrow.ChunkedArray):
        encoded = encoded.unify_dictionaries()  # one dictionary for every chunk already
        if encoded.num_chunks == 0:
            return pyarrow.chunked_array([], type_)
        dictionary = encoded.chunk(0).dictionary
        judged = pyarrow.array([judge(v) for v in dictionary.to_pylist()], type=type_)
        return pyarrow.chunked_array([pc.take(judged, c.indices) for c in encoded.chunks], type_)
    judged = pyarrow.array([judge(v) for v in encoded.dictionary.to_pylist()], type=type_)
    return pc.take(judged, encoded.indices)


def per_value_str(series: pd.Series, judge: Callable[[str], str | None]) -> pd.Series:
    return pd.Series(per_value(series, judge, pyarrow.large_string()), series.index, dtype="str")


def per_value_ok(series: pd.Series, judge: Callable[[str], bool]) -> np.ndarray:
    """True where ``judge`` passes the value, and where the value is missing."""
    return to_bools(per_value(series, judge, pyarrow.bool_()), True)


def enum_lookup(allowed: Iterable[str]) -> dict[str, str]:
    """Folded spelling → canonical value; an admin role may end in admin or administrator."""
    lookup = {}
    for value in allowed:
        lookup[fold(value)] = value
        if value.endswith(" admin"):
            lookup[fold(value + "istrator")] = value
    return lookup


BOOLEANS = {**dict.fromkeys(TRUE_WORDS, "yes"), **dict.fromkeys(FALSE_WORDS, "no")}


def canonical_enum(series: pd.Series, allowed: Iterable[str]) -> pd.Series:
    """Each cell's canonical spelling; `(clear)` as CLEAR; unknown or missing → missing."""
    lookup = {**enum_lookup(allowed), fold(CLEAR): CLEAR}
    return per_value_str(series, lambda v: lookup.get(fold(v)))


def canonical_boolean(series: pd.Series) -> pd.Series:
    """yes / no (R4's sign-in), `(clear)` as CLEAR; unknown or missing → missing."""
    lookup = {**BOOLEANS, fold(CLEAR): CLEAR}
    return per_value_str(series, lambda v: lookup.get(fold(v)))


def _passes(series: pd.Series, ok: np.ndarray) -> pd.Series:
    return pd.Series(ok.astype(bool), index=series.index)


# --- the checks (registered once; the function name is the check's name and rule) ---


@extensions.register_check_method()
def required(series: pd.Series) -> pd.Series:
    """Present and not `(clear)`: a key field cannot be emptied."""
    return _passes(series, series.notna().to_numpy() & ~clear_mask(series))


@extensions.register_check_method(statistics=["limit"])
def max_length(series: pd.Series, *, limit: int) -> pd.Series:
    # bytes >= characters: only cells over the limit in bytes need counting characters
    long = to_bools(pc.greater(pc.binary_length(arrow(series)), limit), False)
    if long.any():
        long[long] = (series[long].str.len() > limit).to_numpy()
    return _passes(series, ~long)


@extensions.register_check_method()
def upn_syntax(series: pd.Series) -> pd.Series:
    """`(clear)` is left to `required`, so that it is reported once."""
    return matches(series, UPN_PATTERN + _CLEAR_ALT)


@extensions.register_check_method()
def email_syntax(series: pd.Series) -> pd.Series:
    return matches(series, EMAIL_PATTERN + _CLEAR_ALT)


@extensions.register_check_method()
def application_id(series: pd.Series) -> pd.Series:
    """A GUID (Entra application / client id)."""
    return matches(series, GUID_PATTERN + _CLEAR_ALT)


@extensions.register_check_method()
def usage_location(series: pd.Series) -> pd.Series:
    ok = per_value_ok(series, lambda v: v.upper() in ISO_3166_ALPHA2 or fold(v) == CLEAR)
    return _passes(series, ok)


@extensions.register_check_method(statistics=["allowed"])
def enum(series: pd.Series, *, allowed: tuple[str, ...]) -> pd.Series:
    """One of ``allowed`` (case-, space- and hyphen-insensitive) or `(clear)`: the default."""
    lookup = {**enum_lookup(allowed), fold(CLEAR): CLEAR}
    return _passes(series, per_value_ok(series, lambda v: fold(v) in lookup))


@extensions.register_check_method()
def boolean(series: pd.Series) -> pd.Series:
    lookup = {**BOOLEANS, fold(CLEAR): CLEAR}
    return _passes(series, per_value_ok(series, lambda v: fold(v) in lookup))


# --- field declarations ---


def key_field(column: str, **checks) -> object:
    """A required column (SPEC §2, bold): present, non-blank, never `(clear)`."""
    return pa.Field(nullable=True, ignore_na=False, required={}, **_limit(column), **checks)


def text_field(column: str, **checks) -> object:
    """An optional column; blank means "leave as is", `(clear)` empties it."""
    return pa.Field(nullable=True, ignore_na=False, **_limit(column), **checks)


def enum_field(allowed: tuple[str, ...]) -> object:
    return pa.Field(nullable=True, ignore_na=False, enum={"allowed": tuple(allowed)})


def _limit(column: str) -> dict:
    return {"max_length": MAX_LENGTH[column]} if column in MAX_LENGTH else {}


class SchemaConfig:
    """Every kind: other columns allowed (records keep theirs), values already `str`."""

    strict = False
    coerce = False


# --- messages, written for an administrator (never pandera's printout) ---


def _quoted(values: pd.Series) -> pd.Series:
    return "'" + values.fillna("").astype("str") + "'"


def _required(column: str, values: pd.Series, statistics: dict) -> pd.Series:
    cleared = f"{column} is required; {CLEAR} cannot empty it"
    text = np.where(values.isna().to_numpy(), f"{column} is required", cleared)
    return pd.Series(text, index=values.index, dtype="str")


def _max_length(column: str, values: pd.Series, statistics: dict) -> pd.Series:
    length = values.str.len().fillna(0).astype("int64").astype("str")
    limit = statistics.get("limit", MAX_LENGTH.get(column))
    return f"{column} is " + length + f" characters; Microsoft 365 allows at most {limit}"


def _enum(column: str, values: pd.Series, statistics: dict) -> pd.Series:
    allowed = statistics.get("allowed", ())
    spelled = ", ".join(allowed)
    if any(value.endswith(" admin") for value in allowed):
        spelled += " ('administrator' also accepted)"
    return f"{column} " + _quoted(values) + f" is not one of {spelled}"


def _syntax(text: str) -> Callable[[str, pd.Series, dict], pd.Series]:
    def build(column: str, values: pd.Series, statistics: dict) -> pd.Series:
        return f"{column} " + _quoted(values) + " " + text

    return build


MESSAGES: dict[str, Callable[[str, pd.Series, dict], pd.Series]] = {
    "required": _required,
    "max_length": _max_length,
    "enum": _enum,
    "upn_syntax": _syntax(
        "is not a valid user name: use name@domain.tld, the name made of letters A-Z, "
        "digits and ' . - _ ! # ^ ~ only, without spaces"
    ),
    "email_syntax": _syntax("is not an email address of the form name@domain.tld"),
    "usage_location": _syntax("is not a two-letter ISO 3166 country code such as US, GB or DE"),
    "boolean": _syntax("is not one of yes/no, true/false, 1/0"),
    "application_id": _syntax("is not a GUID like 00000000-0000-0000-0000-000000000000"),
}
APPLICATION_ID_MISSING = "user_type application needs an application_id (the app's GUID)"


def message(rule: str, column: str, values: pd.Series, statistics: dict) -> pd.Series:
    """The administrator's message for each failing value of ``column`` under ``rule``."""
    build = MESSAGES.get(rule, _syntax(f"fails the {rule} check"))
    return build(column, values, statistics)
