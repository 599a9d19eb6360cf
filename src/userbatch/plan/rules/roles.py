"""Security role rows: unknown_environment/role/user, R11 enabled users, R8 warnings, and the
default roles the system gives (R9 System Administrator for Global admins)."""

from __future__ import annotations

import pandas as pd

from userbatch.frames import isin
from userbatch.plan.context import Context, env_user_key, lower, name_catalog
from userbatch.plan.jsoncol import json_objects

ROLE_COLUMNS = ["environment", "user_principal_name", "role"]


def role_key(frame: pd.DataFrame) -> pd.Series:
    return env_user_key(frame, "user_principal_name") + "|" + frame["role"]


def plan_roles(ctx: Context, env_users: pd.DataFrame, tenant_users: pd.DataFrame) -> pd.DataFrame:
    current = ctx.state.roles.assign(_k=lambda f: role_key(f).str.lower())
    rows = _resolve(ctx, env_users, tenant_users)
    removes = rows[rows["action"].eq("remove").to_numpy()]
    held = removes[isin(removes["_k"].str.lower(), current["_k"]).to_numpy()]
    _log(ctx, "remove_role", held, kind="roles")
    kept = current[~isin(current["_k"], held["_k"].str.lower())]
    assigns = rows[
        rows["action"].eq("assign").to_numpy()
        & ~isin(rows["_k"].str.lower(), kept["_k"]).to_numpy()
    ]
    assigns = _r11_enabled_users(ctx, assigns, env_users)
    _log(ctx, "assign_role", assigns, kind="roles")
    planned = pd.concat([kept, assigns], ignore_index=True)
    default = _r9_default_roles(ctx, env_users, tenant_users, planned)
    planned = pd.concat([planned, default], ignore_index=True)
    _r8_removed_every_role(ctx, held, env_users, planned)
    return planned[ROLE_COLUMNS]


def _resolve(ctx: Context, env_users: pd.DataFrame, tenant_users: pd.DataFrame) -> pd.DataFrame:
    rows = ctx.resolve_environments("roles", ctx.pending("roles"))
    rows = rows.assign(_upn=lower(rows["user_principal_name"]))
    roles = ctx.state.security_roles
    rows = ctx.known_names(
        "roles", rows, probe=lower(rows["_env"] + "|" + rows["role"]),
        catalog=name_catalog(roles["role"], roles["environment"] + "|" + roles["role"]),
        into="_role", rule="unknown_role", column="role",
        message=lambda unknown: "no security role " + unknown["role"] + " in environment "
        + unknown["_env"],
    )  # fmt: skip
    rows = ctx.refuse_unknown_users(
        "roles",
        rows,
        isin(rows["_upn"], tenant_users["_key"])
        | isin(rows["_upn"], lower(env_users["user_name"])),
        rows["user_principal_name"],
    )
    env_keys = env_user_key(env_users)
    absent = rows[~isin((rows["_env"] + "|" + rows["_upn"]), env_keys).to_numpy()]
    ctx.refuse(
        "roles", absent, rule="R11", column="user_principal_name",
        message=absent["user_principal_name"] + " is not a user of " + absent["_env"]
        + " (not in its security group)",
    )  # fmt: skip
    rows = rows.drop(absent.index)
    return rows.assign(
        environment=rows["_env"], user_principal_name=rows["_upn"], role=rows["_role"],
        _k=rows["_env"] + "|" + rows["_upn"] + "|" + rows["_role"],
    )  # fmt: skip


def _r11_enabled_users(
    ctx: Context, assigns: pd.DataFrame, env_users: pd.DataFrame
) -> pd.DataFrame:
    """R11: a role assignment needs an enabled user, unless the environment allows it."""
    status = env_users.set_index(env_user_key(env_users))["status"]
    allow = ctx.environments.set_index("name")["allow_role_assignment_on_disabled_users"]
    allowed = isin(lower(assigns["environment"].map(allow).astype("str")), ["yes", "true", "1"])
    disabled = (
        (assigns["environment"] + "|" + assigns["user_principal_name"]).map(status).ne("enabled")
    )
    refused = assigns[(disabled & ~allowed).to_numpy()]
    ctx.refuse(
        "roles", refused, rule="R11", column="user_principal_name",
        message=refused["user_principal_name"] + " is disabled in " + refused["environment"]
        + "; a security role can only be assigned to an enabled user "
        "(allow_role_assignment_on_disabled_users is off)",
    )  # fmt: skip
    return assigns.drop(refused.index)


def _r9_default_roles(
    ctx: Context, env_users: pd.DataFrame, tenant: pd.DataFrame, planned: pd.DataFrame
) -> pd.DataFrame:
    """R9: a Global admin's new environment user gets System Administrator from the system."""
    admins = tenant.loc[tenant["admin_role"].eq("Global admin"), "_key"]
    old = ctx.state.environment_users
    old_keys = env_user_key(old)
    new = env_users[
        isin(lower(env_users["user_name"]), admins) & ~isin(env_user_key(env_users), old_keys)
    ]
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
    default = default[~isin(role_key(default).str.lower(), role_key(planned).str.lower())]
    _log(ctx, "assign_role", default, rule="R9")
    return default


def _r8_removed_every_role(ctx, removed, env_users, planned) -> None:
    """R8: removing every role of an enabled user does not disable it."""
    if removed.empty:
        return
    left = env_user_key(planned, "user_principal_name")
    enabled = env_users[env_users["status"].eq("enabled")]
    enabled_keys = env_user_key(enabled)
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

    ``touched``: the ``environment|user`` keys this run creates or enables.
    """
    users = env_users[env_users["status"].eq("enabled") & env_users["user_type"].eq("interactive")]
    pair = env_user_key(users)
    with_role = env_user_key(roles, "user_principal_name")
    lonely = users[isin(pair, touched) & ~isin(pair, with_role)]
    ctx.problems.add(
        pd.DataFrame(
            {
                "entity": "environment_user",
                "key": lower(lonely["user_name"]),
                "rule": "R8",
                "level": "warning",
                "message": lonely["user_name"]
                + " is enabled in "
                + lonely["environment"]
                + " with no security role: it can sign in but reach no app",
            }
        )
    )


def _log(ctx: Context, change: str, rows: pd.DataFrame, *, rule=None, kind=None) -> None:
    if rows.empty:
        return
    payload = json_objects(
        rows.assign(user_principal_name=lower(rows["user_principal_name"])), ROLE_COLUMNS
    )
    before, after = (payload, None) if change == "remove_role" else (None, payload)
    ctx.changes.add(
        change=change, entity="role", key=role_key(rows.assign(user_principal_name=lower(rows["user_principal_name"]))),
        environment=rows["environment"], before=before, after=after, rule=rule,
        rows=rows if kind else None, kind=kind,
    )  # fmt: skip
