"""Group memberships: unknown_group, unknown_user, add/remove, R5 nested-group warning.

Groups and members are compared by integer codes: a group by its lower-cased name (the few
distinct names are lower-cased, not every row), a member by its lower-cased text, coded in
one hash pass with the planned users' keys and the stored members. Pairs are then integers
and set tests index flag tables; text is built only for the rows that are logged.
Refused rows are masked out (``ok``) rather than filtered away: filtering copies every
column of some 600k rows per step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, release_memory, rows_at, rows_where, text_array
from userbatch.plan.codes import (
    GroupMembers,
    code_isin,
    key_codes,
    lowered_codes,
    pair_codes,
    stacked,
)
from userbatch.plan.context import Context, lower, name_catalog
from userbatch.plan.jsoncol import LazyJson, json_objects
from userbatch.plan.keys import folded
from userbatch.plan.users import TenantPlan

ROW_COLUMNS = (
    "source_file", "source_sheet", "source_row", "group", "member", "action", "key", "_row",
)  # fmt: skip


@dataclass
class Codes:
    """Codes of the input rows (``row_*``), the stored memberships (``stored_*``) and the
    derived removals (``derived_*``): ``g`` the lower-cased group, ``m`` the lower-cased
    member, ``pair`` both. ``gcode`` is a row's group in the catalog (-1: unknown),
    ``member_group`` a row's member's group in the catalog (-1: a user)."""

    groups: pa.Array  # lower-cased group names by g code
    bound: int  # m codes are below this
    stored_members: pa.Array  # the stored members lower-cased
    row_g: np.ndarray
    row_m: np.ndarray
    stored_g: np.ndarray
    stored_m: np.ndarray
    derived_pair: np.ndarray
    gcode: np.ndarray
    member_group: np.ndarray
    stored_group: np.ndarray  # whether a stored member is a group

    def pair(self, g: np.ndarray, m: np.ndarray) -> np.ndarray:
        return pair_codes(g, m, self.bound)

    @property
    def pair_size(self) -> int:
        return len(self.groups) * (self.bound + 1)

    def isin(self, values: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return code_isin(values, candidates, self.pair_size)


def plan_memberships(ctx: Context, tenant: TenantPlan) -> tuple[pd.DataFrame, GroupMembers]:
    """The planned memberships table (user members lower-cased, group members by name) and
    its rows' codes for the derivation of environment users."""
    current = ctx.state.memberships
    derived = tenant.membership_removals
    _log(ctx, "remove_member", derived, rule="R7")
    rows, ok, codes, lowered = _resolve(ctx, tenant, current, derived)
    release_memory()  # the coding's texts and look-ups (licenses are planned beside this)
    catalog = _catalog(ctx)
    action = rows["action"]
    row_pair = codes.pair(codes.row_g, codes.row_m)
    stored_pair = codes.pair(codes.stored_g, codes.stored_m)
    removed = codes.derived_pair
    remove = ok & action.eq("remove").to_numpy()
    if remove.any():
        asked = row_pair[remove]
        held = codes.isin(asked, stored_pair) & ~codes.isin(asked, codes.derived_pair)
        at = np.flatnonzero(remove)[held]
        removes = rows_at(rows, at).assign(
            _group=as_series(_names(catalog, codes.gcode[at]), rows.index[at]),
            _member=as_series(_member_names(catalog, codes, lowered, at), rows.index[at]),
        )  # fmt: skip
        _log(ctx, "remove_member", removes, kind="memberships")
        removed = np.concatenate([removed, asked])
    kept = np.ones(len(current), bool)
    if len(removed):
        kept = ~codes.isin(stored_pair, removed)
    stays = stored_pair if kept.all() else stored_pair[kept]
    new = ok & action.eq("add").to_numpy() & ~codes.isin(row_pair, stays)
    # The new memberships' names, gathered once for the change log and the planned table.
    at = np.flatnonzero(new)
    group = _names(catalog, codes.gcode[at])
    member = _member_names(catalog, codes, lowered, at)
    _log_adds(ctx, rows, new, group, member)
    planned = pd.DataFrame(
        {
            "group": stacked(current["group"], kept, group),
            "member": stacked(current["member"], kept, member),
        }
    )
    _r5_nested(ctx, rows, ok, new, codes, kept, current, lowered)
    users = len(tenant.users)  # m codes below this are planned users' positions

    def user(m: np.ndarray) -> np.ndarray:
        return np.where((m >= 0) & (m < users), m, -1).astype(np.int32)

    members = GroupMembers(
        groups=codes.groups,
        group=np.concatenate([codes.stored_g[kept], codes.row_g[at]]).astype(np.int32),
        user=np.concatenate([user(codes.stored_m[kept]), user(codes.row_m[at])]),
    )
    return planned, members


def _catalog(ctx: Context) -> pd.Series:
    return name_catalog(ctx.state.groups["name"])


def _names(catalog: pd.Series, positions: np.ndarray) -> pa.Array:
    """Canonical group names at catalog ``positions``."""
    return text_array(pd.Series(catalog.to_numpy(), dtype="str")).take(pa.array(positions))


def _member_names(catalog, codes: Codes, lowered: pa.Array, at: np.ndarray) -> pa.Array:
    """Members of rows ``at`` as planned: a group by its canonical name, a user lower-cased."""
    group = codes.member_group[at]
    member = lowered.take(pa.array(at))
    if (group >= 0).any():
        names = text_array(pd.Series(catalog.to_numpy(), dtype="str"))
        by_group = names.take(pa.array(np.where(group >= 0, group, 0)))
        member = pc.if_else(pa.array(group >= 0), by_group, member)
    return member


def _resolve(ctx: Context, tenant: TenantPlan, current: pd.DataFrame, derived: pd.DataFrame):
    """All rows, which of them are pending and passed, their codes and lower-cased members."""
    rows, pending = ctx.pending_rows("memberships", ROW_COLUMNS)
    catalog = _catalog(ctx)
    keys = text_array(pd.Series(catalog.index, dtype="str"))
    (row_g, stored_g, derived_g), groups = lowered_codes(
        rows["group"], current["group"], derived["group"]
    )
    group_of_g = _positions(groups, keys)
    gcode = np.append(group_of_g, -1)[row_g]
    known_group = pending & (gcode >= 0)
    bad = rows_where(rows, pending & ~known_group)
    ctx.refuse(
        "memberships", bad, rule="unknown_group", column="group",
        message="no group named " + bad["group"]
        + " in the tenant (groups are not created by memberships)",
    )  # fmt: skip
    # A member resolves as a group when a group has that name, else as a UPN: the planned
    # users come first in one coding of every member text.
    lowered, stored = folded(rows["member"]), folded(current["member"])
    planned = tenant.users["_key"]
    (row_m, stored_m, derived_m), bound = key_codes(
        planned, lowered, stored, folded(derived["member"])
    )
    member_group = _positions(lowered, keys)
    known = (member_group >= 0) | ((row_m >= 0) & (row_m < len(planned)))
    missing = rows_where(rows, known_group & ~known)
    if len(missing):
        none = pd.Series(False, index=missing.index)
        ctx.refuse_unknown_users("memberships", missing, none, missing["member"])
    codes = Codes(
        groups=groups, bound=bound, stored_members=stored, row_g=row_g, row_m=row_m,
        stored_g=stored_g, stored_m=stored_m, derived_pair=pair_codes(derived_g, derived_m, bound),
        gcode=gcode, member_group=member_group, stored_group=_positions(stored, keys) >= 0,
    )  # fmt: skip
    return rows, known_group & known, codes, lowered


def _positions(texts: pa.Array, keys: pa.Array) -> np.ndarray:
    """Each text's first position in ``keys``; -1 where absent."""
    found = pc.index_in(texts, value_set=keys)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, kind=None):
    if rows.empty:
        return
    group = rows["_group"] if "_group" in rows else rows["group"]
    member = rows["_member"] if "_member" in rows else rows["member"]
    payload = json_objects(pd.DataFrame({"group": group, "member": member}), ["group", "member"])
    before, after = (payload, None) if change == "remove_member" else (None, payload)
    key = pc.binary_join_element_wise(
        text_array(group), text_array(member), pa.scalar("|", pa.large_string())
    )
    ctx.changes.add(
        change=change, entity="membership", key=as_series(key, rows.index), before=before,
        after=after, rule=rule, rows=rows, kind=kind or rows["_kind"],
    )  # fmt: skip


def _source_files(column: pd.Series, mask: np.ndarray) -> pd.Series:
    """The source file of the ``mask`` rows as a categorical (the change log keeps it so),
    from the column's codes when it is one already: no string per row either way."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()[mask]
        return pd.Series(pd.Categorical.from_codes(codes, dtype=column.dtype))
    return text_array(column).dictionary_encode().filter(pa.array(mask)).to_pandas()


def _log_adds(ctx: Context, rows: pd.DataFrame, new: np.ndarray, group, member) -> None:
    """add_member for the ``new`` rows, from their gathered names."""
    if not new.any():
        return
    origin = pd.DataFrame(
        {
            "source_file": _source_files(rows["source_file"], new),
            "source_row": rows["source_row"].to_numpy()[new],
            "_row": rows["_row"].to_numpy()[new],
        }
    )
    key = pc.binary_join_element_wise(group, member, pa.scalar("|", group.type))
    ctx.changes.add(
        change="add_member", entity="membership", key=as_series(key, origin.index),
        # Made as written, from the planned table's own new names (LazyJson).
        after=LazyJson(("group", "member"), (group, member), omit_missing=False),
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


def _group_edges(codes: Codes, kept, new, current, lowered, catalog) -> pd.DataFrame:
    """Group-in-group edges of the planned memberships (``_g``, ``_m`` lower-cased)."""
    stored = np.flatnonzero(kept & codes.stored_group)
    added = np.flatnonzero(new & (codes.member_group >= 0))
    groups = codes.groups
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "_g": as_series(
                        groups.take(pa.array(codes.stored_g[stored])), range(len(stored))
                    ),
                    "_m": as_series(
                        codes.stored_members.take(pa.array(stored)), range(len(stored))
                    ),
                    "member": current["member"].iloc[stored].reset_index(drop=True),
                }
            ),
            pd.DataFrame(
                {
                    "_g": as_series(groups.take(pa.array(codes.row_g[added])), range(len(added))),
                    "_m": as_series(lowered.take(pa.array(added)), range(len(added))),
                    "member": as_series(
                        _member_names(catalog, codes, lowered, added), range(len(added))
                    ),
                }
            ),
        ],
        ignore_index=True,
    )


def _r5_nested(ctx, rows: pd.DataFrame, ok, new, codes: Codes, kept, current, lowered) -> None:
    """R5: members reached only through a nested group are not enabled.

    The planned memberships are the stored ones ``kept`` and the ``new`` rows."""
    users = ok & rows["action"].eq("add").to_numpy() & (codes.member_group < 0)
    if not users.any():
        return
    catalog = _catalog(ctx)
    keys = text_array(pd.Series(catalog.index, dtype="str"))
    # Group-in-group edges, found once for every environment.
    edges = _group_edges(codes, kept, new, current, lowered, catalog)
    for env in ctx.environments.itertuples():  # a handful of environments, not rows
        if pd.isna(env.security_group):
            continue
        nested = nested_groups(edges, ctx.state.groups["name"], env.security_group)
        found = pc.drop_null(pc.index_in(text_array(nested["_key"].astype("str")), value_set=keys))
        hit = users & np.isin(codes.gcode, found.to_numpy())
        if not hit.any():
            continue
        # The group's direct members, stored and new, against the members hit.
        group = _positions(pa.array([env.security_group.lower()], pa.large_string()), codes.groups)[
            0
        ]
        direct = np.concatenate(
            [
                codes.stored_m[kept & (codes.stored_g == group)],
                codes.row_m[new & (codes.row_g == group)],
            ]
        ) if group >= 0 else np.empty(0, np.int64)  # fmt: skip
        hit[hit] = ~code_isin(codes.row_m[hit], direct, codes.bound)
        noted = rows_where(rows, hit)
        at = np.flatnonzero(hit)
        ctx.note(
            "memberships", noted, rule="R5", column="group",
            message=as_series(_names(catalog, codes.gcode[at]), noted.index) + " is nested in "
            + env.security_group + f"; members of nested groups are not enabled in {env.name}: "
            + "add the user to " + env.security_group + " directly",
        )  # fmt: skip
