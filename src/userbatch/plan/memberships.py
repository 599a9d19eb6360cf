"""Group memberships: unknown_group, unknown_user, add/remove, R5 nested-group warning.

Group and member are lower-cased once per row (``_g``, ``_m``) and reused for the pair key,
the nesting walk (R5) and the direct-member test. Refused rows are masked out (``ok``)
rather than filtered away: filtering copies every column of some 600k rows per step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from userbatch.frames import isin, lookup
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import as_series, json_objects, text_array
from userbatch.plan.rules.licenses import pair
from userbatch.plan.users import TenantPlan, pending_rows

ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "group", "member", "action", "key", "_row",
)  # fmt: skip
# What a logged change needs of its row (ChangeLog.add) and what the planned table takes.
LOGGED = ["source_file", "source_row", "_row", "_group", "_member", "_g", "_m", "_is_group"]


def plan_memberships(ctx: Context, tenant: TenantPlan) -> pd.DataFrame:
    """The planned memberships table: user members lower-cased, group members by name."""
    current = ctx.state.memberships
    current_g, current_m = lower(current["group"]), lower(current["member"])
    current_pairs = pair(current_g, current_m)
    derived = tenant.membership_removals
    derived_pairs = pair(lower(derived["group"]), lower(derived["member"]))
    _log(ctx, "remove_member", derived, rule="R7")
    rows, ok = _resolve(ctx, tenant)
    action = rows["action"]
    removes = _subset(rows, ok & action.eq("remove").to_numpy(), [*LOGGED, "_pair"])
    held = isin(removes["_pair"], current_pairs) & ~isin(removes["_pair"], derived_pairs)
    _log(ctx, "remove_member", removes[held.to_numpy()], kind="memberships")
    kept = (~isin(current_pairs, pd.concat([derived_pairs, removes["_pair"]]))).to_numpy()
    new = ok & action.eq("add").to_numpy() & ~isin(rows["_pair"], current_pairs[kept]).to_numpy()
    adds = _subset(rows, new, LOGGED)
    _log(ctx, "add_member", adds, kind="memberships")
    planned = pd.DataFrame(
        {
            "group": pd.concat([current["group"][kept], adds["_group"]], ignore_index=True),
            "member": pd.concat([current["member"][kept], adds["_member"]], ignore_index=True),
        }
    )
    stored = pd.DataFrame({"_g": current_g, "_m": current_m, "member": current["member"]})[kept]
    _r5_nested(ctx, rows, ok, stored, adds)
    return planned


def _subset(rows: pd.DataFrame, mask: np.ndarray, columns) -> pd.DataFrame:
    """``columns`` of the rows where ``mask`` holds; no copy when it holds everywhere."""
    return rows[columns] if mask.all() else rows.loc[mask, columns]


def _resolve(ctx: Context, tenant: TenantPlan) -> tuple[pd.DataFrame, np.ndarray]:
    """The pending rows with group and member resolved, and which of them passed."""
    rows, pending = pending_rows(ctx, "memberships", ROW_COLUMNS)
    groups = name_catalog(ctx.state.groups["name"])
    lowered = lower(rows["group"])
    group = lookup(lowered, groups)
    known_group = pending & group.notna().to_numpy()
    bad = rows[pending & ~known_group]
    ctx.refuse(
        "memberships", bad, rule="unknown_group", column="group",
        message="no group named " + bad["group"]
        + " in the tenant (groups are not created by memberships)",
    )  # fmt: skip
    # A member resolves as a group when a group has that name, else as a UPN.
    member = lower(rows["member"])
    member_group = lookup(member, groups)
    is_group = member_group.notna()
    resolved = member
    if is_group.any():
        both = pc.coalesce(text_array(member_group), text_array(member))
        resolved = as_series(both, member.index)
    known = (is_group | isin(resolved, tenant.users["_key"])).to_numpy()
    missing = rows[known_group & ~known]
    if len(missing):
        none = pd.Series(False, index=missing.index)
        ctx.refuse_unknown_users("memberships", missing, none, missing["member"])
    # _g and _m are the catalog keys _group and _member were found under (or the UPN).
    rows = rows.assign(
        _group=group, _g=lowered, _member=resolved, _m=member, _is_group=is_group,
        _pair=pair(lowered, member),
    )  # fmt: skip
    return rows, known_group & known


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, kind=None):
    if rows.empty:
        return
    group = rows["_group"] if "_group" in rows else rows["group"]
    member = rows["_member"] if "_member" in rows else rows["member"]
    payload = json_objects(pd.DataFrame({"group": group, "member": member}), ["group", "member"])
    before, after = (payload, None) if change == "remove_member" else (None, payload)
    ctx.changes.add(
        change=change, entity="membership", key=pair(group, member), before=before,
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


def _r5_nested(ctx, rows: pd.DataFrame, ok: np.ndarray, stored: pd.DataFrame, adds) -> None:
    """R5: members reached only through a nested group are not enabled.

    The planned memberships are the ``stored`` ones kept and the ``adds``, both with
    ``_g``/``_m`` (group, member lower-cased)."""
    users = ok & rows["action"].eq("add").to_numpy() & ~rows["_is_group"].to_numpy()
    if not users.any():
        return
    names = set(lower(ctx.state.groups["name"]))
    # Group-in-group edges, found once for every environment.
    added = adds.loc[adds["_is_group"].to_numpy(), ["_g", "_m", "_member"]]
    edges = pd.concat(
        [stored[isin(stored["_m"], names).to_numpy()], added.rename(columns={"_member": "member"})]
    )
    for env in ctx.environments.itertuples():  # a handful of environments, not rows
        if pd.isna(env.security_group):
            continue
        nested = nested_groups(edges, ctx.state.groups["name"], env.security_group)
        hit = users & isin(rows["_g"], nested["_key"]).to_numpy()
        if not hit.any():
            continue
        group = env.security_group.lower()
        direct = pd.concat(
            [
                stored.loc[stored["_g"].eq(group).to_numpy(), "_m"],
                adds.loc[adds["_g"].eq(group).to_numpy(), "_m"],
            ]
        )
        hit &= ~isin(rows["_member"], direct).to_numpy()
        noted = rows[hit]
        ctx.note(
            "memberships", noted, rule="R5", column="group",
            message=noted["_group"] + " is nested in " + env.security_group
            + f"; members of nested groups are not enabled in {env.name}: add the user to "
            + env.security_group + " directly",
        )  # fmt: skip
