"""License rows: unknown_user, unknown_sku, R15 usage location, R14 seat capacity.

Users and SKUs are compared by integer codes (one hash pass codes the planned users, the
rows' and the stored seats' users; SKUs are a handful of names), so a seat is an integer
pair and every set test indexes a bit table. Rows stay narrow: refused rows are masked,
and text (the ``user|sku`` change key, the JSON) is built only for the seats logged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, rows_at, rows_where, text_array
from userbatch.plan.codes import (
    code_isin,
    key_codes,
    lowered_codes,
    pair_codes,
    stacked,
    text_codes,
)
from userbatch.plan.context import Context, name_catalog
from userbatch.plan.jsoncol import LazyJson, json_objects
from userbatch.plan.keys import folded
from userbatch.plan.users import TenantPlan

ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "user_principal_name", "sku", "action", "key",
    "_row",
)  # fmt: skip


def pair(left: pd.Series, right: pd.Series) -> pd.Series:
    """``left|right`` per row (missing where either is), by one Arrow join."""
    joined = pc.binary_join_element_wise(
        text_array(left), text_array(right), pa.scalar("|", pa.large_string())
    )
    return as_series(joined, left.index)


@dataclass
class Seats:
    """The rows' resolved users and SKUs, and the seat codes of rows, stored and derived
    seats (-1: a user or SKU missing)."""

    keys: pa.Array  # the rows' UPNs lower-cased
    user: np.ndarray  # the row's user's position in the planned users (-1: unknown)
    sku: np.ndarray  # the row's SKU's position in the catalog (-1: unknown)
    names: pa.Array  # canonical SKU names by catalog position
    row: np.ndarray
    stored: np.ndarray
    derived: np.ndarray
    size: int  # seat codes are below this

    def isin(self, values: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return code_isin(values, candidates, self.size)

    def sku_names(self, at: np.ndarray) -> pa.Array:
        return self.names.take(pa.array(self.sku[at]))


def plan_licenses(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    """The planned licenses table (user_principal_name lower-cased, sku canonical)."""
    current = ctx.state.licenses
    derived = tenant.license_removals
    derived_keys = folded(derived["user_principal_name"])
    _log(ctx, "remove_license", derived, derived_keys, text_array(derived["sku"]), rule="R7")
    stored_keys = folded(current["user_principal_name"])
    rows, ok, seats, users = _resolve(ctx, tenant, current, stored_keys, derived_keys)
    action = rows["action"]
    removed, kept = seats.derived, np.ones(len(current), bool)
    remove = ok & action.eq("remove").to_numpy()
    if remove.any():
        asked = seats.row[remove]
        held = seats.isin(asked, seats.stored) & ~seats.isin(asked, seats.derived)
        at = np.flatnonzero(remove)[held]
        _log(ctx, "remove_license", rows_at(rows, at), seats.keys.take(pa.array(at)),
             seats.sku_names(at), from_input=True)  # fmt: skip
        removed = np.concatenate([removed, asked])
    if len(removed):
        kept = ~seats.isin(seats.stored, removed)
    stays = seats.stored if kept.all() else seats.stored[kept]
    new = ok & action.eq("assign").to_numpy() & ~seats.isin(seats.row, stays)
    new[new] = _r15_usage_location(ctx, rows, np.flatnonzero(new), seats, tenant)
    stored_skus = current["sku"] if kept.all() else current["sku"][kept]
    new[new] = _r14_capacity(ctx, rows, np.flatnonzero(new), seats, stored_skus)
    at = np.flatnonzero(new)
    assigned_keys, assigned_skus = seats.keys.filter(pa.array(new)), seats.sku_names(at)
    _log(ctx, "assign_license", _origin(rows, new), assigned_keys, assigned_skus, from_input=True)
    # Stored seats kept, of users still planned (deleted or never stored users' go), then
    # the new ones: two chunks each, not a concatenated copy.
    stays = kept & users
    upns = stacked(stored_keys, stays, assigned_keys)
    skus = stacked(current["sku"], stays, assigned_skus)
    return pd.DataFrame({"user_principal_name": upns, "sku": skus})


def _origin(rows: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """What a logged change reads of its input rows (source file and row), for ``mask``:
    the source file keeps its dtype (a categorical is not turned into strings)."""
    return pd.DataFrame(
        {
            "source_file": rows["source_file"][mask].reset_index(drop=True),
            "source_row": rows["source_row"].to_numpy()[mask],
            "_row": rows["_row"].to_numpy()[mask],
        }
    )


def _resolve(ctx, tenant: TenantPlan, current, stored_keys, derived_keys):
    """All rows, which of them are pending and passed, their seats, and which stored
    seats are of planned users. Refused rows are masked, not filtered away: each filter
    would copy every column of every row."""
    rows, pending = ctx.pending_rows("licenses", ROW_COLUMNS)
    keys = folded(rows["user_principal_name"])
    # The planned users first, in one coding of every UPN: a row's user is known, and
    # where (R15 reads its usage location), by its code.
    planned = len(tenant.users)
    (row_u, stored_u, derived_u), bound = key_codes(
        tenant.users["_key"], keys, stored_keys, derived_keys
    )
    user = np.where(row_u < planned, row_u, -1)
    known = pending & (user >= 0)
    if (pending & ~known).any():
        missing = rows_where(rows, pending & ~known)
        none = pd.Series(False, index=missing.index)
        ctx.refuse_unknown_users("licenses", missing, none, missing["user_principal_name"])
    # SKUs: the catalog's canonical names, the stored and derived seats' names as stored.
    catalog = name_catalog(ctx.state.skus["sku"])
    (row_s,), lowered_skus = lowered_codes(rows["sku"])
    at_catalog = pc.index_in(lowered_skus, value_set=text_array(pd.Series(catalog.index)))
    sku = np.append(pc.fill_null(at_catalog, -1).to_numpy(zero_copy_only=False), -1)[row_s]
    unknown = known & (sku < 0)
    bad = rows_where(rows, unknown)
    ctx.refuse(
        "licenses", bad, rule="unknown_sku", column="sku",
        message="no SKU named " + bad["sku"] + " in the tenant",
    )  # fmt: skip
    names = text_array(pd.Series(catalog.to_numpy(), dtype="str"))
    (by_catalog, stored_s, derived_s), sku_names = text_codes(
        names, current["sku"], tenant.license_removals["sku"]
    )
    size = bound * (len(sku_names) + 1)
    seats = Seats(
        keys=keys, user=user, sku=sku, names=names, size=size,
        row=pair_codes(row_u, np.append(by_catalog, -1)[sku], len(sku_names)),
        stored=pair_codes(stored_u, stored_s, len(sku_names)),
        derived=pair_codes(derived_u, derived_s, len(sku_names)),
    )  # fmt: skip
    return rows, known & ~unknown, seats, (stored_u >= 0) & (stored_u < planned)


def _r15_usage_location(ctx, rows, at: np.ndarray, seats: Seats, tenant) -> np.ndarray:
    """R15: a license assignment needs a usage location on the user (Microsoft Graph).
    Returns which assignments ``at`` pass."""
    located = tenant.users["usage_location"].notna().to_numpy()
    present = located[seats.user[at]]
    if not present.all():
        miss = at[~present]
        missing = rows_at(rows, miss)
        ctx.refuse(
            "licenses", missing, rule="R15", column="user_principal_name",
            message=missing["user_principal_name"]
            + " has no usage location; set usage_location (or --usage-location) to assign "
            + as_series(seats.sku_names(miss), missing.index),
        )  # fmt: skip
    return present


def _r14_capacity(ctx, rows, at: np.ndarray, seats: Seats, kept: pd.Series) -> np.ndarray:
    """R14: removals first, then assignments ``at`` in input order; those past capacity
    fail. Returns which assignments pass."""
    codes = seats.sku[at]  # the catalog position of each assignment's SKU
    skus = pd.Index(seats.names.to_pandas(), dtype="str")
    total = ctx.state.skus.set_index("sku")["total_units"]
    held = pd.to_numeric(kept.value_counts().reindex(skus), errors="coerce").fillna(0)
    capacity = pd.to_numeric(total.reindex(skus), errors="coerce").fillna(0).to_numpy()
    seat = _cumcount(codes) + 1 + held.to_numpy()[codes]
    over = seat > capacity[codes]
    if over.any():
        hit = rows_at(rows, at[over])
        ctx.refuse(
            "licenses", hit, rule="R14", column="sku",
            message=as_series(seats.sku_names(at[over]), hit.index) + ": all "
            + pd.Series(capacity[codes[over]].astype("int64"), index=hit.index).astype("str")
            + " units are assigned; this assignment is past capacity",
        )  # fmt: skip
    return ~over


def _cumcount(codes: np.ndarray) -> np.ndarray:
    """How many earlier rows share each row's code (groupby().cumcount() in numpy)."""
    order = np.argsort(codes, kind="stable")
    ranked = np.arange(len(codes))
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    first = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    count = np.empty(len(codes), dtype=np.int64)
    count[order] = ranked - first
    return count


def _log(ctx, change: str, rows: pd.DataFrame, upns: pa.Array, skus: pa.Array, *, rule=None,
         from_input=False):  # fmt: skip
    """``change`` for the seats (``upns`` lower-cased, ``skus``) of ``rows``, keyed
    ``user|sku``."""
    if not len(rows):
        return
    if change == "remove_license":
        payload = json_objects(
            pd.DataFrame({"user_principal_name": as_series(upns, rows.index),
                          "sku": as_series(skus, rows.index)}),
            ["user_principal_name", "sku"],
        )  # fmt: skip
    else:  # made as written, from the planned table's own new seats
        payload = LazyJson(("user_principal_name", "sku"), (upns, skus), omit_missing=False)
    key = pc.binary_join_element_wise(upns, skus, pa.scalar("|", pa.large_string()))
    before, after = (payload, None) if change == "remove_license" else (None, payload)
    ctx.changes.add(
        change=change, entity="license", key=as_series(key, rows.index), before=before,
        after=after, rule=rule, rows=rows, kind="licenses" if from_input else rows["_kind"],
    )  # fmt: skip
