"""License rows: unknown_user, unknown_sku, R15 usage location, R14 seat capacity.

Rows stay narrow (no copy of columns a rule does not read) and the ``user|sku`` pair is
built once per row and reused as the change key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin, lookup
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import as_series, json_objects, text_array
from userbatch.plan.users import TenantPlan, pending_rows, positions

ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "user_principal_name", "sku", "action", "key",
    "_row",
)  # fmt: skip


# What R15/R14 read of an assignment (problems name the row and cell), and what a logged
# change and the planned table read.
CHECKED = [
    "source_file", "source_sheet", "source_row", "user_principal_name", "sku", "key", "_sku",
    "_user",
]  # fmt: skip
LOGGED = ["source_file", "source_row", "_row", "key_upn", "_sku", "_pair"]


def pair(left: pd.Series, right: pd.Series) -> pd.Series:
    """``left|right`` per row (missing where either is), by one Arrow join."""
    joined = pc.binary_join_element_wise(
        text_array(left), text_array(right), pa.scalar("|", pa.large_string())
    )
    return as_series(joined, left.index)


def plan_licenses(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    """The planned licenses table (user_principal_name lower-cased, sku canonical)."""
    current = ctx.state.licenses
    current_keys = lower(current["user_principal_name"])
    current_pairs = pair(current_keys, current["sku"])
    rows, ok, users = _resolve(ctx, tenant, current_keys)
    derived = tenant.license_removals
    derived_pairs = pair(lower(derived["user_principal_name"]), derived["sku"])
    _log(ctx, "remove_license", derived.assign(_pair=derived_pairs), rule="R7")
    action = rows["action"]
    removed, kept = derived_pairs, np.ones(len(current), bool)
    remove = ok & action.eq("remove").to_numpy()
    if remove.any():  # (a set lookup hashes all its candidates, even for no rows)
        removes = rows.loc[remove, LOGGED]
        held = isin(removes["_pair"], current_pairs) & ~isin(removes["_pair"], derived_pairs)
        _log(ctx, "remove_license", removes[held.to_numpy()], from_input=True)
        removed = pd.concat([derived_pairs, removes["_pair"]])
    if len(removed):
        kept = (~isin(current_pairs, removed)).to_numpy()
    new = ok & action.eq("assign").to_numpy() & ~isin(rows["_pair"], current_pairs[kept]).to_numpy()
    new[new] = _r15_usage_location(ctx, rows.loc[new, CHECKED], tenant)
    new[new] = _r14_capacity(ctx, rows.loc[new, CHECKED], current["sku"][kept])
    assigns = _subset(rows, new)[LOGGED]
    _log(ctx, "assign_license", assigns, from_input=True)
    # Stored UPNs lower-cased (the pairs above already did it), then the new seats.
    upns = pd.concat([current_keys[kept], assigns["key_upn"]], ignore_index=True)
    skus = pd.concat([current["sku"][kept], assigns["_sku"]], ignore_index=True)
    planned = pd.DataFrame({"user_principal_name": upns, "sku": skus})
    # Seats of users deleted (or never stored) go; the new ones are of known users.
    known = np.ones(len(upns), bool)
    known[: kept.sum()] = users[kept]
    return planned[known]


def _subset(rows: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows where ``mask`` holds, without a copy when it holds everywhere."""
    return rows if mask.all() else rows[mask]


def _resolve(ctx: Context, tenant: TenantPlan, stored: pd.Series):
    """All rows with user and SKU resolved, which of them are pending and passed, and
    which ``stored`` seats (lower-cased UPNs) are of planned users. Refused rows are
    masked, not filtered away: each filter would copy every column of every row."""
    rows, pending = pending_rows(ctx, "licenses", ROW_COLUMNS)
    keys = lower(rows["user_principal_name"])
    # The user's row in the planned users: whether it is known, and its usage location
    # (R15); one lookup for the rows and the stored seats (each builds a hash set of users).
    found = positions(pd.concat([keys, stored]), tenant.users["_key"])
    user, users = found[: len(keys)], found[len(keys) :] >= 0
    known = pending & (user >= 0)
    if (pending & ~known).any():
        missing = rows[pending & ~known]
        none = pd.Series(False, index=missing.index)
        ctx.refuse_unknown_users("licenses", missing, none, missing["user_principal_name"])
    sku = lookup(lower(rows["sku"]), name_catalog(ctx.state.skus["sku"]))
    unknown = known & sku.isna().to_numpy()
    bad = rows[unknown]
    ctx.refuse(
        "licenses", bad, rule="unknown_sku", column="sku",
        message="no SKU named " + bad["sku"] + " in the tenant",
    )  # fmt: skip
    rows = rows.assign(key_upn=keys, _user=user, _sku=sku, _pair=pair(keys, sku))
    return rows, known & ~unknown, users


def _r15_usage_location(ctx: Context, assigns: pd.DataFrame, tenant: TenantPlan) -> np.ndarray:
    """R15: a license assignment needs a usage location on the user (Microsoft Graph).
    Returns which assignments pass."""
    location = text_array(tenant.users["usage_location"]).take(pa.array(assigns["_user"]))
    present = location.is_valid().to_numpy(zero_copy_only=False)
    missing = assigns[~present]
    ctx.refuse(
        "licenses", missing, rule="R15", column="user_principal_name",
        message=missing["user_principal_name"]
        + " has no usage location; set usage_location (or --usage-location) to assign "
        + missing["_sku"],
    )  # fmt: skip
    return present


def _r14_capacity(ctx: Context, assigns: pd.DataFrame, kept: pd.Series) -> np.ndarray:
    """R14: removals first, then assignments in input order; those past capacity fail.
    Returns which assignments pass."""
    codes, skus = pd.factorize(assigns["_sku"])
    total = ctx.state.skus.set_index("sku")["total_units"]
    held = pd.to_numeric(kept.value_counts().reindex(skus), errors="coerce").fillna(0)
    capacity = pd.to_numeric(total.reindex(skus), errors="coerce").fillna(0).to_numpy()
    seat = _cumcount(codes) + 1 + held.to_numpy()[codes]
    over = seat > capacity[codes]
    hit = assigns[over]
    ctx.refuse(
        "licenses", hit, rule="R14", column="sku",
        message=hit["_sku"] + ": all "
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


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, from_input=False):
    if rows.empty:
        return
    upn = rows["key_upn"] if "key_upn" in rows else lower(rows["user_principal_name"])
    sku = rows["_sku"] if "_sku" in rows else rows["sku"]
    payload = json_objects(
        pd.DataFrame({"user_principal_name": upn, "sku": sku}), ["user_principal_name", "sku"]
    )
    before, after = (payload, None) if change == "remove_license" else (None, payload)
    ctx.changes.add(
        change=change, entity="license", key=rows["_pair"], before=before, after=after,
        rule=rule, rows=rows, kind="licenses" if from_input else rows["_kind"],
    )  # fmt: skip
