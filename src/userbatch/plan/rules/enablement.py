"""Environment users derived as a sync would (SPEC §3): R2 profile, R4 status, R9 admins,
R10 access modes. Computed for every environment from a (planned) tenant state.

Also the Arrow key helpers the environment-user rules share (profile, roles, stubs): a
key match costs one hash per string, and ``pc.is_in`` / ``index_in`` hash their whole
value set again on every call, so a rule encodes each key column it matches once into
dense integer codes (``encode``) and answers membership and lookups with numpy on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.state.model import ENV_USER_COLUMNS, State

ADDRESS_PARTS = ("street_address", "city", "state_or_province", "postal_code", "country_or_region")
NO_LICENSE_MODES = ("administrative", "non-interactive")
UNGROUPED_ADMINS = ("Global admin", "Power Platform admin")  # R9: need not be in the group
TEXT = pa.large_string()


# Arrow key helpers ---------------------------------------------------------------------
def text(values: pd.Series) -> pa.Array:
    """A column as one large_string Arrow array (no copy for an arrow-backed ``str``)."""
    if values.dtype != "str":  # category, object: the change log may hold those
        values = values.astype("str")
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if array.type == TEXT else array.cast(TEXT)


def fold(array: pa.Array) -> pa.Array:
    """``context.lower`` in Arrow: trimmed and lower-cased (the same two kernels)."""
    return pc.utf8_lower(pc.utf8_trim_whitespace(array))


def folded(values: pd.Series) -> pa.Array:
    return fold(text(values))


def as_series(array: pa.Array, index=None) -> pd.Series:
    """An Arrow text array as a ``str`` Series, without a copy."""
    return pd.Series(pd.array(array.cast(TEXT), dtype="str"), index=index)


def scalar(value: str) -> pa.Scalar:
    return pa.scalar(value, type=TEXT)


def repeat(value: str, n: int) -> pa.Array:
    return pa.array([value], type=TEXT).take(pa.array(np.zeros(n, dtype=np.int64)))


def flags(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, missing as False."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def equal(array: pa.Array, value: str) -> np.ndarray:
    return flags(pc.equal(array, scalar(value)))


def encode(*arrays: pa.Array) -> tuple[list[np.ndarray], int]:
    """Codes of each of ``arrays`` over one shared dictionary, and its size. Equal texts
    get equal codes; missing is a value of its own (as ``pc.is_in`` matches it)."""
    joined = pa.chunked_array([a.cast(TEXT) for a in arrays], type=TEXT)
    encoded = pc.dictionary_encode(joined, null_encoding="encode")
    if not encoded.num_chunks:  # every array empty
        return [np.zeros(0, dtype=np.int64) for _ in arrays], 0
    # Arrow drops empty chunks: the codes of all chunks in order, cut by input lengths.
    chunks = [c.indices.to_numpy() for c in encoded.chunks]  # no nulls: no copy
    codes = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    bounds = np.cumsum([len(a) for a in arrays])[:-1]
    return np.split(codes, bounds), len(encoded.chunks[-1].dictionary)


def marks(codes: np.ndarray, size: int) -> np.ndarray:
    """Per code, whether ``codes`` holds it: membership is then ``marks(b, n)[a]``."""
    table = np.zeros(size, dtype=bool)
    table[codes] = True
    return table


def first_rows(codes: np.ndarray, size: int) -> np.ndarray:
    """Per code, the first position of ``codes`` holding it, -1 where none."""
    table = np.full(size, len(codes), dtype=np.int64)
    np.minimum.at(table, codes, np.arange(len(codes), dtype=np.int64))
    table[table == len(codes)] = -1
    return table


# The derivation ------------------------------------------------------------------------
# Environment user column <- the tenant user column it copies (R2).
COPIED = {
    "user_name": "user_principal_name",
    "title": "job_title",
    "primary_email": "email",  # R3: at creation
    "main_phone": "office_phone",
    "mobile_phone": "mobile_phone",
    "fax": "fax",
}


@dataclass
class TenantFacts:
    """Per tenant user: the inputs of R4 (numpy flags), and the R2 profile fields, made
    one at a time by ``field`` so the wide ones are not all held at once."""

    users: pd.DataFrame
    sign_in: np.ndarray
    admin: np.ndarray  # any admin role (R9)
    ungrouped_admin: np.ndarray
    application: np.ndarray
    no_license_mode: np.ndarray  # R4: the access mode asked for needs no license
    licensed: np.ndarray | None = None  # holds an access-granting SKU (set by _select)

    def field(self, column: str) -> pa.Array | None:
        """The tenant's value of environment user ``column``, None where it has none."""
        users = self.users
        if column in COPIED:
            return text(users[COPIED[column]])
        if column == "full_name":
            joined = _join(users, ["first_name", "last_name"], " ")
            return pc.coalesce(joined, text(users["display_name"]))
        if column == "address":
            return _join(users, ADDRESS_PARTS, ", ")
        if column != "access_mode":
            return None
        # R9: unlicensed admins get access mode administrative; R10: application users
        # are non-interactive.
        mode = _mode_in(users)
        admin_mode = self.admin & ~self.licensed & equal(mode, "read-write")
        mode = pc.if_else(pa.array(admin_mode), scalar("administrative"), mode)
        return pc.if_else(pa.array(self.application), scalar("non-interactive"), mode)


def _join(frame: pd.DataFrame, columns, sep: str) -> pa.Array:
    """Non-empty parts joined by ``sep``; missing when every part is empty."""
    parts = [text(frame[c]) for c in columns]
    empty = pc.is_null(parts[0])
    for part in parts[1:]:
        empty = pc.and_(empty, pc.is_null(part))
    # Arrow's skip mode drops rows whose parts are all null: give those one "" part.
    first = pc.if_else(empty, scalar(""), parts[0])
    joined = pc.binary_join_element_wise(first, *parts[1:], scalar(sep), null_handling="skip")
    return pc.if_else(empty, pa.scalar(None, type=TEXT), joined)


def _mode_in(users: pd.DataFrame) -> pa.Array:
    return pc.fill_null(text(users["access_mode"]), scalar("read-write"))


def tenant_facts(state: State) -> TenantFacts:
    users = state.users
    admin = text(users["admin_role"])
    return TenantFacts(
        users=users,
        sign_in=~equal(folded(users["sign_in_allowed"]), "no"),
        admin=pc.is_valid(admin).to_numpy(zero_copy_only=False),
        ungrouped_admin=flags(pc.is_in(admin, value_set=pa.array(UNGROUPED_ADMINS, TEXT))),
        application=equal(text(users["user_type"]), "application"),
        no_license_mode=flags(
            pc.is_in(_mode_in(users), value_set=pa.array(NO_LICENSE_MODES, TEXT))
        ),
    )


def _licensed_keys(state: State) -> pa.Array:
    """Lower-cased UPNs holding an access-granting SKU (R4)."""
    skus, licenses = state.skus, state.licenses
    grants = pc.invert(pc.fill_null(pc.equal(folded(skus["grants_access"]), "no"), False))
    granting = text(skus["sku"]).filter(grants)
    held = pc.fill_null(pc.is_in(text(licenses["sku"]), value_set=granting), False)
    return fold(text(licenses["user_principal_name"]).filter(held))


@dataclass
class _Selection:
    """One environment's rows: tenant users at ``at`` (``previous``: each one's row in the
    existing table, -1 for a new one) and the existing ones gone from it (``orphans``)."""

    name: str
    at: np.ndarray
    enabled: np.ndarray
    previous: np.ndarray
    orphans: np.ndarray


def derive_environment_users(
    state: State,
    existing: pd.DataFrame | None = None,
    *,
    sync_primary_email: bool = False,
    allow_disable_application_users: bool = False,
) -> pd.DataFrame:
    """The environment_users table for ``state``, keeping every existing one (never removed)."""
    existing = state.environment_users if existing is None else existing
    facts = tenant_facts(state)
    selections = _select(state, facts, existing, allow_disable_application_users)
    if not any(len(s.at) or len(s.orphans) for s in selections):
        return existing.iloc[0:0][list(ENV_USER_COLUMNS)]
    # Positions first, then the table column by column: its peak memory is the table plus
    # one column's parts.
    return pd.DataFrame(
        {
            c: as_series(
                pa.concat_arrays(_column(c, selections, facts, existing, sync_primary_email))
            )
            for c in ENV_USER_COLUMNS
        }
    )


def _select(state, facts, existing, allow_disable_apps) -> list[_Selection]:
    groups = state.environments["security_group"]
    memberships = state.memberships
    # Each column made one Arrow array once: a chunked column is copied by ``text``.
    grouped = groups.notna().any()
    group_keys = folded(memberships["group"]) if grouped else None
    member = text(memberships["member"]) if grouped else None
    members = [
        fold(member.filter(pc.equal(group_keys, scalar(group.lower()))))
        for group in groups.dropna()
    ]
    # One dictionary for every user key this derivation matches.
    (tenant, licensed, old, *member_codes), size = encode(
        folded(facts.users["user_principal_name"]),
        _licensed_keys(state),
        folded(existing["user_name"]),
        *members,
    )
    facts.licensed = marks(licensed, size)[tenant]
    # R4: sign-in allowed AND (access-granting SKU OR admin OR no-license mode) AND group.
    entitled = facts.licensed | facts.admin | facts.no_license_mode
    old_env = text(existing["environment"])
    selections = []
    member_codes = iter(member_codes)
    for env in state.environments.itertuples():  # a handful of environments
        if pd.isna(env.security_group):
            direct = np.ones(len(tenant), dtype=bool)
        else:
            direct = marks(next(member_codes), size)[tenant]
        group_ok = direct | facts.ungrouped_admin
        enabled = facts.sign_in & entitled & group_ok
        if not allow_disable_apps:  # R10: application users are enabled and never disabled
            enabled = enabled | facts.application
        mine = np.flatnonzero(equal(old_env, env.name))
        has_user = marks(old[mine], size)[tenant]
        # Every direct member, every R9 admin and every application user gets one (SPEC §3).
        at = np.flatnonzero(group_ok | facts.admin | facts.application | has_user)
        previous = first_rows(old[mine], size)[tenant[at]]
        known = previous >= 0
        previous[known] = mine[previous[known]]
        # Environment users are never removed, only disabled: stubs and users gone from
        # the tenant.
        orphans = mine[~marks(tenant[at], size)[old[mine]]]
        selections.append(_Selection(env.name, at, enabled[at], previous, orphans))
    return selections


def _column(column, selections, facts, existing, sync_email) -> list[pa.Array]:
    """One column's parts: per environment its derived users, then its orphans."""
    field = facts.field(column)
    parts = []
    for selection in selections:
        parts.append(_derived(column, field, selection, facts, existing, sync_email))
        orphans = text(existing[column]).take(pa.array(selection.orphans))
        if column == "status":
            stub = equal(text(existing["user_type"]).take(pa.array(selection.orphans)), "stub")
            orphans = pc.if_else(pa.array(stub), orphans, scalar("disabled"))
        parts.append(orphans)
    return parts


def _derived(column, field, selection, facts, existing, sync_email) -> pa.Array:
    """``column`` of one environment's derived users; ``field``: its tenant values, if any."""
    at, previous = selection.at, selection.previous
    known = previous >= 0
    was = pa.array(np.maximum(previous, 0))
    if column == "environment":
        return repeat(selection.name, len(at))
    if column == "user_type":
        application = pa.array(facts.application[at])
        return pc.if_else(application, scalar("application"), scalar("interactive"))
    if column == "status":
        return pc.if_else(pa.array(selection.enabled), scalar("enabled"), scalar("disabled"))
    if column == "primary_email":
        email = field.take(pa.array(at))
        # R3: primary email is set at creation and not overwritten (unless
        # --sync-primary-email).
        if sync_email or not known.any():
            return email
        return pc.if_else(pa.array(known), text(existing["primary_email"]).take(was), email)
    if column == "invitation_required":
        if not known.any():
            return repeat("no", len(at))
        old = pc.fill_null(text(existing["invitation_required"]).take(was), scalar("no"))
        invitation = pc.if_else(pa.array(known), old, scalar("no"))
        was_disabled = equal(text(existing["status"]).take(was), "disabled")
        invite = known & was_disabled & selection.enabled  # R6: enabled again
        return pc.if_else(pa.array(invite), scalar("yes"), invitation)
    return field.take(pa.array(at))


def positions(values: pa.Array, dictionary: pa.Array) -> np.ndarray:
    """Each value's position in ``dictionary`` (distinct values), ``len(dictionary)`` where
    absent: a code that matches nothing of the dictionary's."""
    found = pc.fill_null(pc.index_in(values, value_set=dictionary), len(dictionary))
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def first_match(probe: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per ``probe`` code, the first position in ``values`` holding it, -1 where none."""
    if not len(values):
        return np.full(len(probe), -1, dtype=np.int64)
    first = ~pd.Index(values).duplicated()
    found = pd.Index(values[first]).get_indexer(probe)
    return np.where(found >= 0, np.flatnonzero(first)[found], -1)


def gather(array: pa.Array, at: np.ndarray) -> pa.Array:
    """``array`` at positions ``at``, missing where ``at`` is -1."""
    return array.take(pa.array(at, mask=at < 0))


def joined(*parts: pa.Array | str) -> pa.Array:
    """Texts joined element-wise with ``|`` (a key); missing where any part is."""
    return pc.binary_join_element_wise(*parts, scalar("|"))


def among(frame: pd.DataFrame, users: pa.Array, wanted: pa.Array) -> pd.DataFrame:
    """The rows of ``frame`` whose lower-cased user (``users``, one per row) is one of
    ``wanted``: probing a large frame against a few names is cheap, hashing all of its
    names is not."""
    return frame[flags(pc.is_in(users, value_set=wanted))]
