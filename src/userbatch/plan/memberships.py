"""Group memberships: unknown_group, unknown_user, add/remove, R5 nested-group warning."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin, lookup
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import json_objects
from userbatch.plan.users import TenantPlan


def plan_memberships(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    """The planned memberships table: user members lower-cased, group members by name."""
    current = ctx.state.memberships
    current = current.assign(_pair=lower(current["group"]) + "|" + lower(current["member"]))
    derived = tenant.membership_removals
    derived = derived.assign(_pair=lower(derived["group"]) + "|" + lower(derived["member"]))
    _log(ctx, "remove_member", derived, rule="R7")
    rows = _resolve(ctx, tenant)
    removes = rows[rows["action"].eq("remove").to_numpy()]
    held = isin(removes["_pair"], current["_pair"]) & ~isin(removes["_pair"], derived["_pair"])
    _log(ctx, "remove_member", removes[held.to_numpy()], kind="memberships")
    kept = current[~isin(current["_pair"], set(derived["_pair"]) | set(removes["_pair"]))]
    adds = rows[
        rows["action"].eq("add").to_numpy() & ~isin(rows["_pair"], kept["_pair"]).to_numpy()
    ]
    _log(ctx, "add_member", adds, kind="memberships")
    added = pd.DataFrame({"group": adds["_group"], "member": adds["_member"]})
    planned = pd.concat([kept[["group", "member"]], added], ignore_index=True)
    _r5_nested(ctx, rows, planned)
    return planned


def _resolve(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    rows = ctx.pending("memberships")
    groups = name_catalog(ctx.state.groups["name"])
    rows = ctx.known_names(
        "memberships", rows, probe=lower(rows["group"]), catalog=groups, into="_group",
        rule="unknown_group", column="group",
        message=lambda unknown: "no group named " + unknown["group"]
        + " in the tenant (groups are not created by memberships)",
    )  # fmt: skip
    # A member resolves as a group when a group has that name, else as a UPN.
    member_group = lookup(lower(rows["member"]), groups)
    rows = rows.assign(
        _member=member_group.fillna(lower(rows["member"])).astype("str"),
        _is_group=member_group.notna(),
    )
    known = rows["_is_group"] | isin(rows["_member"], tenant.users["_key"])
    rows = ctx.refuse_unknown_users("memberships", rows, known, rows["member"])
    return rows.assign(_pair=lower(rows["_group"]) + "|" + lower(rows["_member"]))


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, kind=None):
    if rows.empty:
        return
    group = rows["_group"] if "_group" in rows else rows["group"]
    member = rows["_member"] if "_member" in rows else rows["member"]
    payload = json_objects(pd.DataFrame({"group": group, "member": member}), ["group", "member"])
    before, after = (payload, None) if change == "remove_member" else (None, payload)
    ctx.changes.add(
        change=change, entity="membership", key=group + "|" + member, before=before,
        after=after, rule=rule, rows=rows, kind=kind or rows["_kind"],
    )  # fmt: skip


def nested_groups(memberships: pd.DataFrame, groups: pd.Series, group: str) -> pd.DataFrame:
    """(nested group, depth) for every group reached from ``group`` through group members."""
    names = set(lower(groups))
    edges = memberships
    if "_g" not in edges or "_m" not in edges:  # callers may bring them lower-cased already
        edges = edges.assign(_g=lower(edges["group"]), _m=lower(edges["member"]))
    edges = edges[isin(edges["_m"], names)]
    seen: dict[str, str] = {}
    frontier = {group.lower()}
    while frontier:  # one merge per nesting level, not per row
        step = edges[isin(edges["_g"], frontier)]
        frontier = set(step["_m"]) - seen.keys() - {group.lower()}
        seen.update(dict(zip(step["_m"], step["member"], strict=True)))
    return pd.DataFrame({"_key": list(seen), "name": list(seen.values())})


def _r5_nested(ctx: Context, rows: pd.DataFrame, planned: pd.DataFrame) -> None:
    """R5: members reached only through a nested group are not enabled."""
    adds = rows[rows["action"].eq("add").to_numpy() & ~rows["_is_group"].to_numpy()]
    if adds.empty:
        return
    # Lower-cased once for every environment (the planned table is millions of rows).
    planned = planned.assign(_g=lower(planned["group"]), _m=lower(planned["member"]))
    for env in ctx.environments.itertuples():  # a handful of environments, not rows
        if pd.isna(env.security_group):
            continue
        nested = nested_groups(planned, ctx.state.groups["name"], env.security_group)
        direct = planned.loc[planned["_g"] == env.security_group.lower(), "_m"]
        hit = adds[isin(lower(adds["_group"]), nested["_key"]) & ~isin(adds["_member"], direct)]
        ctx.note(
            "memberships", hit, rule="R5", column="group",
            message=hit["_group"] + " is nested in " + env.security_group
            + f"; members of nested groups are not enabled in {env.name}: add the user to "
            + env.security_group + " directly",
        )  # fmt: skip
