"""Group memberships: unknown_group, unknown_user, add/remove, R5 nested-group warning.

Group and member are lower-cased once per row (``_g``, ``_m``) and reused for the pair key,
the nesting walk (R5) and the direct-member test. Refused rows are masked out (``ok``)
rather than filtered away: filtering copies every column of some 600k rows per step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import isin
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import as_series, json_arrays, json_objects, text_array
from userbatch.plan.rules.licenses import pair
from userbatch.plan.users import TenantPlan, pending_rows

ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "group", "member", "action", "key", "_row",
)  # fmt: skip


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
    removed = derived_pairs
    remove = ok & action.eq("remove").to_numpy()
    if remove.any():
        removes = rows[remove]
        held = isin(removes["_pair"], current_pairs) & ~isin(removes["_pair"], derived_pairs)
        _log(ctx, "remove_member", removes[held.to_numpy()], kind="memberships")
        removed = pd.concat([derived_pairs, removes["_pair"]])
    kept = np.ones(len(current), bool)
    if len(removed):
        kept = (~isin(current_pairs, removed)).to_numpy()
    stays = current_pairs if kept.all() else current_pairs[kept]
    new = ok & action.eq("add").to_numpy() & ~isin(rows["_pair"], stays).to_numpy()
    # The new memberships' names, gathered once for the change log and the planned table.
    group, member = (text_array(rows[c]).filter(pa.array(new)) for c in ("_group", "_member"))
    _log_adds(ctx, rows, new, group, member)
    planned = pd.DataFrame(
        {
            "group": _stacked(text_array(current["group"]), kept, group),
            "member": _stacked(text_array(current["member"]), kept, member),
        }
    )
    stored = pd.DataFrame({"_g": current_g, "_m": current_m, "member": current["member"]})
    _r5_nested(ctx, rows, ok, new, stored, kept)
    return planned


def _stacked(stored: pa.Array, kept: np.ndarray, added: pa.Array) -> pd.Series:
    """The kept stored values, then the added ones: two chunks, not a concatenated copy."""
    if not kept.all():
        stored = stored.filter(pa.array(kept))
    stacked = pa.chunked_array([stored, added], type=stored.type)
    return as_series(stacked, pd.RangeIndex(len(stacked)))


def _codes(probe: pd.Series, keys: pa.Array) -> pa.Array:
    """Each probe's position in ``keys`` (first match), null where absent."""
    return pc.index_in(text_array(probe), value_set=keys)


def _resolve(ctx: Context, tenant: TenantPlan) -> tuple[pd.DataFrame, np.ndarray]:
    """All rows with group and member resolved (``_gcode``: the group's catalog position),
    and which of them are pending and passed."""
    rows, pending = pending_rows(ctx, "memberships", ROW_COLUMNS)
    catalog = name_catalog(ctx.state.groups["name"])
    keys, names = text_array(pd.Series(catalog.index)), text_array(pd.Series(catalog.to_numpy()))
    lowered = lower(rows["group"])
    code = _codes(lowered, keys)
    known_group = pending & code.is_valid().to_numpy(zero_copy_only=False)
    bad = rows[pending & ~known_group]
    ctx.refuse(
        "memberships", bad, rule="unknown_group", column="group",
        message="no group named " + bad["group"]
        + " in the tenant (groups are not created by memberships)",
    )  # fmt: skip
    # A member resolves as a group when a group has that name, else as a UPN.
    member = lower(rows["member"])
    member_code = _codes(member, keys)
    is_group = member_code.is_valid().to_numpy(zero_copy_only=False)
    resolved = member
    if is_group.any():
        resolved = as_series(pc.coalesce(names.take(member_code), text_array(member)), member.index)
    known = is_group | isin(resolved, tenant.users["_key"]).to_numpy()
    missing = rows[known_group & ~known]
    if len(missing):
        none = pd.Series(False, index=missing.index)
        ctx.refuse_unknown_users("memberships", missing, none, missing["member"])
    # _g and _m are the catalog keys _group and _member were found under (or the UPN).
    rows = rows.assign(
        _group=as_series(names.take(code), rows.index), _g=lowered, _member=resolved, _m=member,
        _is_group=is_group, _gcode=pc.fill_null(code, -1).to_numpy(zero_copy_only=False),
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


def _log_adds(ctx: Context, rows: pd.DataFrame, new: np.ndarray, group, member) -> None:
    """add_member for the ``new`` rows, from their gathered names. Their source file goes
    as a categorical: the change log keeps it so, without a string per row."""
    if not new.any():
        return
    source = text_array(rows["source_file"]).dictionary_encode().filter(pa.array(new))
    origin = pd.DataFrame(
        {
            "source_file": source.to_pandas(),
            "source_row": rows["source_row"].to_numpy()[new],
            "_row": rows["_row"].to_numpy()[new],
        }
    )
    key = pc.binary_join_element_wise(group, member, pa.scalar("|", group.type))
    ctx.changes.add(
        change="add_member", entity="membership", key=as_series(key, origin.index),
        after=as_series(json_arrays(["group", "member"], [group, member]), origin.index),
        rows=origin, kind="memberships",
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


def _r5_nested(ctx, rows: pd.DataFrame, ok, new, stored: pd.DataFrame, kept) -> None:
    """R5: members reached only through a nested group are not enabled.

    The planned memberships are the ``stored`` ones ``kept`` and the ``new`` rows, both
    with ``_g``/``_m`` (group, member lower-cased)."""
    users = ok & rows["action"].eq("add").to_numpy() & ~rows["_is_group"].to_numpy()
    if not users.any():
        return
    catalog = name_catalog(ctx.state.groups["name"])
    keys = text_array(pd.Series(catalog.index))
    # Group-in-group edges, found once for every environment.
    edge = kept & isin(stored["_m"], set(catalog.index)).to_numpy()
    added = rows.loc[new & rows["_is_group"].to_numpy(), ["_g", "_m", "_member"]]
    edges = pd.concat([stored[edge], added.rename(columns={"_member": "member"})])
    for env in ctx.environments.itertuples():  # a handful of environments, not rows
        if pd.isna(env.security_group):
            continue
        nested = nested_groups(edges, ctx.state.groups["name"], env.security_group)
        codes = pc.drop_null(_codes(nested["_key"].astype("str"), keys)).to_numpy()
        hit = users & np.isin(rows["_gcode"].to_numpy(), codes)
        if not hit.any():
            continue
        group = env.security_group.lower()
        direct = pd.concat(
            [
                stored.loc[kept & stored["_g"].eq(group).to_numpy(), "_m"],
                rows.loc[new & rows["_g"].eq(group).to_numpy(), "_m"],
            ]
        )
        # The few members hit against the group's many direct members: the hash set is
        # built of the few (Arrow builds it of the candidates, ~3× the cost of a probe).
        members = rows.loc[hit, "_member"]
        also_direct = direct[isin(direct, members).to_numpy()]
        hit[hit] = ~isin(members, also_direct).to_numpy()
        noted = rows[hit]
        ctx.note(
            "memberships", noted, rule="R5", column="group",
            message=noted["_group"] + " is nested in " + env.security_group
            + f"; members of nested groups are not enabled in {env.name}: add the user to "
            + env.security_group + " directly",
        )  # fmt: skip
