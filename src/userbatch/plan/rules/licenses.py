"""License rows: unknown_user, unknown_sku, R15 usage location, R14 seat capacity."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin, lookup
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import json_objects
from userbatch.plan.users import TenantPlan


def plan_licenses(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    """The planned licenses table (user_principal_name lower-cased, sku canonical)."""
    current = ctx.state.licenses.assign(_key=lower(ctx.state.licenses["user_principal_name"]))
    current["_pair"] = current["_key"] + "|" + current["sku"]
    rows = _resolve(ctx, tenant)
    derived = tenant.license_removals
    derived_pairs = lower(derived["user_principal_name"]) + "|" + derived["sku"]
    _log(ctx, "remove_license", derived.assign(_pair=derived_pairs), rule="R7")
    removes = rows[rows["action"].eq("remove").to_numpy()]
    held = isin(removes["_pair"], current["_pair"]) & ~isin(removes["_pair"], derived_pairs)
    _log(ctx, "remove_license", removes[held.to_numpy()], from_input=True)
    removed = pd.concat([derived_pairs, removes["_pair"]])
    kept = current[~isin(current["_pair"], removed)]
    assigns = rows[
        rows["action"].eq("assign").to_numpy() & ~isin(rows["_pair"], kept["_pair"]).to_numpy()
    ]
    assigns = _r15_usage_location(ctx, assigns, tenant)
    assigns = _r14_capacity(ctx, assigns, kept)
    _log(ctx, "assign_license", assigns, from_input=True)
    added = pd.DataFrame({"user_principal_name": assigns["key_upn"], "sku": assigns["_sku"]})
    planned = pd.concat([kept[["user_principal_name", "sku"]], added], ignore_index=True)
    planned["user_principal_name"] = lower(planned["user_principal_name"])
    return planned[isin(lower(planned["user_principal_name"]), tenant.users["_key"])]


def _resolve(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    rows = ctx.pending("licenses")
    rows = rows.assign(key_upn=lower(rows["user_principal_name"]))
    rows = ctx.refuse_unknown_users(
        "licenses", rows, isin(rows["key_upn"], tenant.users["_key"]), rows["user_principal_name"]
    )
    rows = ctx.known_names(
        "licenses", rows, probe=lower(rows["sku"]), catalog=name_catalog(ctx.state.skus["sku"]),
        into="_sku", rule="unknown_sku", column="sku",
        message=lambda unknown: "no SKU named " + unknown["sku"] + " in the tenant",
    )  # fmt: skip
    return rows.assign(_pair=rows["key_upn"] + "|" + rows["_sku"].astype("str"))


def _r15_usage_location(ctx: Context, assigns: pd.DataFrame, tenant: TenantPlan) -> pd.DataFrame:
    """R15: a license assignment needs a usage location on the user (Microsoft Graph)."""
    location = tenant.users.set_index("_key")["usage_location"]
    missing = assigns[lookup(assigns["key_upn"], location).isna().to_numpy()]
    ctx.refuse(
        "licenses", missing, rule="R15", column="user_principal_name",
        message=missing["user_principal_name"]
        + " has no usage location; set usage_location (or --usage-location) to assign "
        + missing["_sku"],
    )  # fmt: skip
    return assigns.drop(missing.index)


def _r14_capacity(ctx: Context, assigns: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """R14: removals first, then assignments in input order; those past capacity fail."""
    total = ctx.state.skus.set_index("sku")["total_units"]
    used = kept["sku"].value_counts()
    held = pd.to_numeric(assigns["_sku"].map(used), errors="coerce").fillna(0)
    seat = assigns.groupby("_sku").cumcount() + 1 + held
    capacity = pd.to_numeric(assigns["_sku"].map(total), errors="coerce").fillna(0)
    over = assigns[(seat > capacity).to_numpy()]
    ctx.refuse(
        "licenses", over, rule="R14", column="sku",
        message=over["_sku"] + ": all " + capacity.loc[over.index].astype("int64").astype("str")
        + " units are assigned; this assignment is past capacity",
    )  # fmt: skip
    return assigns.drop(over.index)


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
        change=change, entity="license", key=upn + "|" + sku, before=before, after=after,
        rule=rule, rows=rows, kind="licenses" if from_input else rows["_kind"],
    )  # fmt: skip
