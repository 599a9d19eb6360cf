"""Nightly operation: ``--mode mirror`` and the mass-disable guard (SPEC §5)."""

from __future__ import annotations

import math

import pandas as pd

from userbatch.errors import UsageError
from userbatch.frames import isin
from userbatch.plan.context import Context, lower
from userbatch.plan.users import TenantPlan, remove_access


def parse_keep(keep) -> set[str]:
    """``--keep``: a file of UPNs (one a line, or a users CSV) or a comma list."""
    from pathlib import Path

    names: list[str] = []
    for item in keep or ():
        path = Path(item)
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            names += [part for line in text.splitlines() for part in line.split(",")]
        else:
            names += item.split(",")
    return {n.strip().lower() for n in names if "@" in n}


def plan_mirror(ctx: Context, tenant: TenantPlan) -> None:
    """Tenant users absent from the roster leave the environment's security group (R7);
    admins (R9), application users and --keep accounts are warned about, never disabled."""
    if ctx.options.mode != "mirror":
        return
    env = ctx.default_environment("--mode mirror")
    roster = lower(ctx.frames["users"]["user_principal_name"]).dropna()
    users = tenant.users[~isin(tenant.users["_key"], roster)]
    keep = parse_keep(ctx.options.keep)
    exempt = (
        users["admin_role"].notna()
        | users["user_type"].eq("application")
        | isin(users["_key"], keep)
    )
    _warn_exempt(ctx, users[exempt.to_numpy()], keep, env)
    leaving = users[~exempt.to_numpy()]
    remove_access(ctx, tenant, leaving["_key"], env, None)


def _warn_exempt(ctx: Context, users: pd.DataFrame, keep: set[str], env: str) -> None:
    reason = pd.Series("an application user (R10)", index=users.index)
    reason = reason.mask(users["admin_role"].notna(), "an admin (R9)")
    reason = reason.mask(isin(users["_key"], keep), "named by --keep")
    ctx.problems.add(
        pd.DataFrame(
            {
                "entity": "user", "key": users["_key"], "rule": "R7", "level": "warning",
                "message": users["user_principal_name"] + " is not in the roster but is kept in "
                + env + ": " + reason,
            }
        )
    )  # fmt: skip


def max_disable_limit(spec: str | None, enabled: int) -> int:
    """``--max-disable N`` or ``P%`` (default 10% of the environment's enabled users)."""
    text = (spec or "10%").strip()
    try:
        if text.endswith("%"):
            return math.floor(enabled * float(text[:-1]) / 100)
        return int(text)
    except ValueError:
        raise UsageError(f"--max-disable {spec}: give a number or a percentage like 10%") from None


def guard_refusal(
    changes: pd.DataFrame, current_env_users: pd.DataFrame, spec: str | None
) -> str | None:
    """The refusal message when a plan disables more users than the guard allows."""
    disabled = changes[
        changes["change"].eq("disable_user") & changes["entity"].eq("environment_user")
    ]
    for env, count in disabled["environment"].value_counts().items():
        mine = current_env_users[current_env_users["environment"].eq(env)]
        enabled = int(mine["status"].eq("enabled").sum())
        limit = max_disable_limit(spec, enabled)
        if count > limit:
            share = f"{100 * count / enabled:.0f}%" if enabled else "all"
            return (
                f"refused: this run would disable {count} users in {env} ({share} of {enabled} "
                f"enabled), past --max-disable {spec or '10%'} ({limit}); raise --max-disable to proceed"
            )
    return None
