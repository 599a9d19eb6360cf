"""Security role rows: unknown_environment/role/user, R11 enabled users, R8 warnings, and the
default roles the system gives (R9 System Administrator for Global admins).

Role rows are matched to environment users and current roles through integer codes
numbered by the role rows' own (lower-cased) users: every other user only ever needs to
match one of those, so the large tables are probed against that small dictionary once
instead of being hashed whole per rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from userbatch.frames import as_series, isin, release_memory, text_array
from userbatch.plan.context import Context, env_user_key, lower, name_catalog
from userbatch.plan.jsoncol import json_objects
from userbatch.plan.keys import (
    among,
    encode,
    equal,
    first_match,
    flags,
    fold,
    folded,
    gather,
    joined,
    positions,
    scalar,
)

ROLE_COLUMNS = ["environment", "user_principal_name", "role"]
ALLOW_WORDS = pa.array(["yes", "true", "1"], type=pa.large_string())


def role_key(frame: pd.DataFrame) -> pd.Series:
    return env_user_key(frame, "user_principal_name") + "|" + frame["role"]


class _Codes:
    """Codes of environments, users and roles; a user outside the role rows' dictionary
    codes as its size, which matches no role row."""

    def __init__(self, ctx: Context, users: pa.Array):
        self.users = users  # distinct
        self.envs = pc.unique(text_array(ctx.environments["name"]))
        self.envs_lower = pc.unique(pc.utf8_lower(self.envs))
        self.roles = pc.unique(pc.utf8_lower(text_array(ctx.state.security_roles["role"])))

    def pair(self, environments: pa.Array, users: np.ndarray) -> np.ndarray:
        """``env_user_key`` as a code: the environment as written, the user lower-cased."""
        return positions(environments, self.envs) * (len(self.users) + 1) + users

    def triple(self, environments: pa.Array, users: np.ndarray, roles: pa.Array) -> np.ndarray:
        """``role_key(...).str.lower()`` as a code."""
        env = positions(pc.utf8_lower(environments), self.envs_lower)
        role = positions(pc.utf8_lower(roles), self.roles)
        return (env * (len(self.roles) + 1) + role) * (len(self.users) + 1) + users


def plan_roles(ctx: Context, env_users: pd.DataFrame, tenant_users: pd.DataFrame) -> pd.DataFrame:
    env_folded = folded(env_users["user_name"])  # lower-cased once for every rule here
    rows, codes, row_users, env_pairs = _resolve(ctx, env_users, env_folded, tenant_users)
    release_memory()  # the resolution's keys and hashes (records are planned beside this)
    current = ctx.state.roles
    current_folded = folded(current["user_principal_name"])
    current_users = positions(current_folded, codes.users)
    held_by = codes.triple(
        text_array(current["environment"]), current_users, text_array(current["role"])
    )
    wanted = codes.triple(text_array(rows["environment"]), row_users, text_array(rows["role"]))
    action = text_array(rows["action"])
    held_mask = equal(action, "remove") & np.isin(wanted, held_by)
    held = rows[held_mask]
    _log(ctx, "remove_role", held, kind="roles")
    kept = ~np.isin(held_by, wanted[held_mask])
    assigning = equal(action, "assign") & ~np.isin(wanted, held_by[kept])
    pairs = codes.pair(text_array(rows["environment"]), row_users)
    assigning &= ~_r11_refused(ctx, rows, assigning, pairs, env_pairs, env_users)
    assigns = rows[assigning]
    _log(ctx, "assign_role", assigns, kind="roles")
    planned = pd.concat([current[kept][ROLE_COLUMNS], assigns[ROLE_COLUMNS]], ignore_index=True)
    planned_users = pa.concat_arrays(
        [current_folded.filter(pa.array(kept)), folded(assigns["user_principal_name"])]
    )
    default = _r9_default_roles(ctx, env_users, env_folded, tenant_users, planned, planned_users)
    if len(default):
        planned = pd.concat([planned, default], ignore_index=True)
        planned_users = pa.concat_arrays([planned_users, folded(default["user_principal_name"])])
    _r8_removed_every_role(ctx, held, env_users, env_folded, planned, planned_users)
    return planned[ROLE_COLUMNS]


def _resolve(ctx: Context, env_users: pd.DataFrame, env_folded: pa.Array, tenant_users):
    """The role rows that name a known role and a user of their environment, with
    canonical environment and role and a lower-cased UPN; their codes."""
    rows = ctx.resolve_environments("roles", ctx.pending("roles"))
    roles = ctx.state.security_roles
    probe = fold(joined(text_array(rows["_env"]), text_array(rows["role"])))
    rows = ctx.known_names(
        "roles", rows, probe=as_series(probe, rows.index),
        catalog=name_catalog(roles["role"], roles["environment"] + "|" + roles["role"]),
        into="_role", rule="unknown_role", column="role",
        message=lambda unknown: "no security role " + unknown["role"] + " in environment "
        + unknown["_env"],
    )  # fmt: skip
    upn = pc.dictionary_encode(folded(rows["user_principal_name"]), null_encoding="encode")
    codes = _Codes(ctx, upn.dictionary)
    upn, row_users = upn.dictionary.take(upn.indices), upn.indices.to_numpy().astype(np.int64)
    env_codes = positions(env_folded, codes.users)
    known = np.isin(row_users, env_codes)
    if not known.all():
        # Only users without an environment user ask the (large) tenant: probe it
        # against those few names.
        missing = pc.unique(upn.filter(pa.array(~known)))
        tenant = text_array(tenant_users["_key"])
        known |= flags(pc.is_in(upn, value_set=tenant.filter(pc.is_in(tenant, value_set=missing))))
    kept = rows.index
    rows = ctx.refuse_unknown_users(
        "roles", rows, pd.Series(known, index=rows.index), rows["user_principal_name"]
    )
    at = kept.get_indexer(rows.index)
    upn, row_users = upn.take(pa.array(at)), row_users[at]
    env_pairs = codes.pair(text_array(env_users["environment"]), env_codes)
    absent_mask = ~np.isin(codes.pair(text_array(rows["_env"]), row_users), env_pairs)
    absent = rows[absent_mask]
    ctx.refuse(
        "roles", absent, rule="R11", column="user_principal_name",
        message=absent["user_principal_name"] + " is not a user of " + absent["_env"]
        + " (not in its security group)",
    )  # fmt: skip
    present = pa.array(~absent_mask)
    rows = rows[~absent_mask].assign(
        environment=lambda f: f["_env"], role=lambda f: f["_role"],
        user_principal_name=as_series(upn.filter(present)).set_axis(rows.index[~absent_mask]),
    )  # fmt: skip
    return rows, codes, row_users[~absent_mask], env_pairs


def _r11_refused(ctx, rows, assigning, pairs, env_pairs, env_users) -> np.ndarray:
    """R11: a role assignment needs an enabled user, unless the environment allows it.
    Returns which rows were refused."""
    found = first_match(pairs, env_pairs)
    enabled = equal(gather(text_array(env_users["status"]), found), "enabled")
    envs = ctx.environments
    allow = fold(text_array(envs["allow_role_assignment_on_disabled_users"]))
    allowing = text_array(envs["name"]).filter(
        pc.fill_null(pc.is_in(allow, value_set=ALLOW_WORDS), False)
    )
    allowed = flags(pc.is_in(text_array(rows["environment"]), value_set=allowing))
    refused_mask = assigning & ~enabled & ~allowed
    refused = rows[refused_mask]
    ctx.refuse(
        "roles", refused, rule="R11", column="user_principal_name",
        message=refused["user_principal_name"] + " is disabled in " + refused["environment"]
        + "; a security role can only be assigned to an enabled user "
        "(allow_role_assignment_on_disabled_users is off)",
    )  # fmt: skip
    return refused_mask


def _r9_default_roles(ctx, env_users, env_folded, tenant, planned, planned_users) -> pd.DataFrame:
    """R9: a Global admin's new environment user gets System Administrator from the system."""
    admins = text_array(tenant["_key"]).filter(
        pa.array(equal(text_array(tenant["admin_role"]), "Global admin"))
    )
    # Global admins are few: narrow every large table to their rows first.
    new = among(env_users, env_folded, admins)
    old = ctx.state.environment_users
    old = among(old, folded(old["user_name"]), admins)
    new = new[~isin(env_user_key(new), env_user_key(old)).to_numpy()]
    catalog = ctx.state.security_roles
    has_role = set(catalog.loc[catalog["role"].eq("System Administrator"), "environment"])
    new = new[isin(new["environment"], has_role)]
    default = pd.DataFrame(
        {
            "environment": new["environment"],
            "user_principal_name": lower(new["user_name"]),
            "role": "System Administrator",
        }
    )
    if default.empty:
        return default
    planned = among(planned, planned_users, folded(default["user_principal_name"]))
    default = default[~isin(role_key(default).str.lower(), role_key(planned).str.lower())]
    _log(ctx, "assign_role", default, rule="R9")
    return default


def _r8_removed_every_role(ctx, removed, env_users, env_folded, planned, planned_users) -> None:
    """R8: removing every role of an enabled user does not disable it."""
    if removed.empty:
        return
    users = folded(removed["user_principal_name"])
    planned = among(planned, planned_users, users)
    enabled = among(env_users, env_folded, users)
    enabled_keys = env_user_key(enabled[enabled["status"].eq("enabled")])
    left = env_user_key(planned, "user_principal_name")
    pair = removed["environment"] + "|" + removed["user_principal_name"]
    hit = removed[(~isin(pair, left) & isin(pair, enabled_keys)).to_numpy()]
    ctx.note(
        "roles", hit, rule="R8", column="role",
        message=hit["user_principal_name"] + " has no role left in " + hit["environment"]
        + " but stays enabled: it can sign in and reach no app. Remove it from the security group "
        "to disable it",
    )  # fmt: skip


def warn_roleless(
    ctx: Context, env_users: pd.DataFrame, roles: pd.DataFrame, touched: pd.Series
) -> None:
    """R8: an enabled interactive user with no role can sign in but reach no app.

    ``touched``: the ``environment|user`` keys this run creates or enables (indexed by
    their rows in ``env_users``, as ``diff_environment_users`` returns them).
    """
    at = _touched_rows(env_users, touched)
    status, kind = (
        text_array(env_users["status"]).take(at),
        text_array(env_users["user_type"]).take(at),
    )
    at = at.to_numpy()[equal(status, "enabled") & equal(kind, "interactive")]
    users = fold(text_array(env_users["user_name"]).take(pa.array(at)))
    # Pair codes numbered by the roles' users; one without a role codes as matching none.
    held = pc.dictionary_encode(folded(roles["user_principal_name"]), null_encoding="encode")
    size = len(held.dictionary) + 1
    (role_env, user_env), _ = encode(
        text_array(roles["environment"]), text_array(env_users["environment"]).take(pa.array(at))
    )
    with_role = role_env.astype(np.int64) * size + held.indices.to_numpy()
    mine = user_env.astype(np.int64) * size + positions(users, held.dictionary)
    lonely = at[~np.isin(mine, with_role)]
    names = text_array(env_users["user_name"]).take(pa.array(lonely))
    environments = text_array(env_users["environment"]).take(pa.array(lonely))
    message = pc.binary_join_element_wise(
        names, scalar(" is enabled in "), environments,
        scalar(" with no security role: it can sign in but reach no app"), scalar(""),
    )  # fmt: skip
    ctx.problems.add(
        pd.DataFrame(
            {
                "entity": "environment_user",
                "key": as_series(fold(names)),
                "rule": "R8",
                "level": "warning",
                "message": as_series(message),
            }
        )
    )


def _touched_rows(env_users: pd.DataFrame, touched: pd.Series) -> pa.Array:
    """The rows of ``env_users`` whose ``env_user_key`` is in ``touched``, in table order:
    from touched's index when it names rows holding exactly those keys (no hashing),
    else by value."""
    at = touched.index
    if pd.api.types.is_integer_dtype(at.dtype) and (
        not len(at) or (at.min() >= 0 and at.max() < len(env_users))
    ):
        rows = pa.array(at.to_numpy())
        environments = text_array(env_users["environment"]).take(rows)
        keys = joined(environments, fold(text_array(env_users["user_name"]).take(rows)))
        if flags(pc.equal(keys, text_array(touched))).all():
            hit = np.zeros(len(env_users), dtype=bool)
            hit[at.to_numpy()] = True
            return pa.array(np.flatnonzero(hit))
    keys = joined(text_array(env_users["environment"]), folded(env_users["user_name"]))
    return pa.array(np.flatnonzero(flags(pc.is_in(keys, value_set=text_array(touched)))))


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, kind=None) -> None:
    if rows.empty:
        return
    upn = folded(rows["user_principal_name"])
    payload = json_objects(
        rows.assign(user_principal_name=as_series(upn, rows.index)), ROLE_COLUMNS
    )
    before, after = (payload, None) if change == "remove_role" else (None, payload)
    key = joined(text_array(rows["environment"]), upn, text_array(rows["role"]))
    ctx.changes.add(
        change=change, entity="role", key=as_series(key, rows.index),
        environment=rows["environment"], before=before, after=after, rule=rule,
        rows=rows if kind else None, kind=kind,
    )  # fmt: skip
