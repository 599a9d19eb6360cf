"""What the terminal shows: counts per kind of change, one line per change with --verbose."""

from __future__ import annotations

import pandas as pd

from userbatch.vocabulary import CHANGES, ENTITIES

NOUNS = {
    "user": "user", "environment_user": "environment user", "stub": "stub user",
    "license": "license", "membership": "membership", "role": "role", "record": "record",
}  # fmt: skip
# change -> (would …, did …); "{n}" is the count and noun.
PHRASES = {
    "create_user": ("create {n}", "created {n}"),
    "update_user": ("update {n}", "updated {n}"),
    "delete_user": ("delete {n}", "deleted {n}"),
    "assign_license": ("assign {n}", "assigned {n}"),
    "remove_license": ("remove {n}", "removed {n}"),
    "add_member": ("add {n}", "added {n}"),
    "remove_member": ("remove {n}", "removed {n}"),
    "enable_user": ("enable {n}", "enabled {n}"),
    "disable_user": ("disable {n}", "disabled {n}"),
    "set_access_mode": ("set the access mode of {n}", "set the access mode of {n}"),
    "invitation_required": (
        "require a new invitation for {n}",
        "required a new invitation for {n}",
    ),
    "assign_role": ("assign {n}", "assigned {n}"),
    "remove_role": ("remove {n}", "removed {n}"),
    "create_stub": ("create {n}", "created {n}"),
    "delete_stub": ("delete {n}", "deleted {n}"),
    "assign_record": ("assign {n}", "assigned {n}"),
    "reassign_record": ("reassign {n}", "reassigned {n}"),
    "update_primary_email": ("update the primary email of {n}", "updated the primary email of {n}"),
}


def _count(n: int, entity: str) -> str:
    noun = NOUNS.get(entity, entity)
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def change_summary(changes: pd.DataFrame, *, done: bool) -> str:
    """ "Would create 12 users, assign 30 licenses, …" (or "Created …" after apply)."""
    if changes.empty:
        return "No changes." if done else "Nothing to change: the environment already matches."
    counts = changes.groupby(["change", "entity"], sort=False).size()
    order = {name: i for i, name in enumerate(CHANGES)}
    entities = {name: i for i, name in enumerate(ENTITIES)}
    counts = counts.iloc[
        sorted(
            range(len(counts)),
            key=lambda i: (order.get(counts.index[i][0], 99), entities.get(counts.index[i][1], 99)),
        )
    ]
    parts = [
        PHRASES.get(change, (change + " {n}",) * 2)[1 if done else 0].format(
            n=_count(int(n), entity)
        )
        for (change, entity), n in counts.items()
    ]
    text = ", ".join(parts) + "."
    return text[0].upper() + text[1:] if done else "Would " + text


def change_lines(changes: pd.DataFrame) -> list[str]:
    """--verbose: one line per change."""
    text = {c: changes[c].astype("str").fillna("") for c in changes.columns}  # categoricals too
    env = text["environment"]
    where = env.where(env.eq(""), "[" + env + "] ")
    after = text["after"].where(text["after"].ne(""), text["before"])
    rule = text["rule"]
    rule = rule.where(rule.eq(""), " (" + rule + ")")
    return (
        where + text["change"] + " " + text["entity"] + " " + text["key"] + " " + after + rule
    ).tolist()


def outcome_summary(frames: dict[str, pd.DataFrame]) -> str:
    counts = (
        pd.concat(
            [f["outcome"] for f in frames.values() if len(f)], ignore_index=True
        ).value_counts()
        if any(len(f) for f in frames.values())
        else pd.Series(dtype=int)
    )
    if counts.empty:
        return "No input rows."
    return "Rows: " + ", ".join(f"{int(n):,} {outcome}" for outcome, n in counts.items()) + "."
