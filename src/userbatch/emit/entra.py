"""Entra ID bulk-operation CSVs: create users, add/remove group members, delete users.

Each file starts with the two header lines of Microsoft's template, byte for byte: the
portal refuses a file whose first two rows are changed. Values are written unaltered
(no formula neutralization: SPEC §7), UTF-8 without BOM, CRLF, RFC 4180 quoting.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from userbatch.errors import FatalError
from userbatch.plan.changes import as_text

VERSION_LINE = ["version:v1.0"]


class Entry(NamedTuple):
    """An emitted file and its README line (what it is, where it goes)."""

    path: Path
    note: str


# Entra "Bulk create users" template: header -> our tenant user column (None: computed).
CREATE_COLUMNS = {
    "Name [displayName] Required": None,
    "User name [userPrincipalName] Required": "user_principal_name",
    "Initial password [passwordProfile] Required": None,
    "Block sign in (Yes/No) [accountEnabled] Required": None,
    "First name [givenName]": "first_name",
    "Last name [surname]": "last_name",
    "Job title [jobTitle]": "job_title",
    "Department [department]": "department",
    "Usage location [usageLocation]": "usage_location",
    "Street address [streetAddress]": "street_address",
    "State or province [state]": "state_or_province",
    "Country or region [country]": "country_or_region",
    "Office [physicalDeliveryOfficeName]": "office",
    "City [city]": "city",
    "ZIP or postal code [postalCode]": "postal_code",
    "Office phone [telephoneNumber]": "office_phone",
    "Mobile phone [mobile]": "mobile_phone",
}
CREATE_HEADER = [VERSION_LINE, list(CREATE_COLUMNS)]
DELETE_HEADER = [VERSION_LINE, ["User name [userPrincipalName] Required"]]
# The portal's bulk add and bulk remove of group members take the same template.
MEMBERS_HEADER = [
    VERSION_LINE,
    ["Member object ID or user principal name [memberObjectIdOrUpn] Required"],
]

CREATE_FILE = "01-entra-bulk-create-users-{:03d}.csv"
MEMBERS_FILE = "02-entra-bulk-{verb}-members-{group}.csv"
DELETE_FILE = "04-entra-bulk-delete-users.csv"


def tenant_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The tenant-level changes (blank environment), in plan order."""
    return as_text(changes[changes["environment"].isna()].reset_index(drop=True))


def lower(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.lower()


def write_table(
    path: Path, header: list[list[str]], rows: pd.DataFrame, *, secret=False, bom=False
) -> Path:
    """Write ``header`` lines then ``rows`` as RFC 4180 CSV (UTF-8, CRLF), values unaltered.

    ``secret`` (R1: the file holds passwords) creates it with mode 0600 from the start, so
    it is never readable by others, not even for a moment. ``bom`` starts it with a UTF-8
    byte order mark (Entra's template has none; Windows tools want one).
    """
    encoding = "utf-8-sig" if bom else "utf-8"
    values = rows.astype(object).where(rows.notna(), "")
    if secret:
        # O_NOFOLLOW: a planted symlink cannot redirect the passwords elsewhere.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # the file may have existed with a wider mode
        handle = os.fdopen(fd, "w", encoding=encoding, newline="")
    else:
        handle = open(path, "w", encoding=encoding, newline="")
    with handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerows(header)
        writer.writerows(values.itertuples(index=False, name=None))
    return path


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def file_slug(names: pd.Series) -> pd.Series:
    """A file-name-safe, unique slug per distinct name (``SG Sales/EMEA`` -> ``SG-Sales-EMEA``)."""
    distinct = pd.Series(names.unique())
    slugs = distinct.str.replace(r"[^A-Za-z0-9._-]+", "-", regex=True).str.strip("-.").str[:80]
    slugs = slugs.mask(slugs.eq(""), "unnamed")
    seen = slugs.str.lower().groupby(slugs.str.lower()).cumcount()
    slugs = slugs.where(seen.eq(0), slugs + "-" + (seen + 1).astype("str"))
    return names.map(dict(zip(distinct, slugs, strict=True)))


# -- create ---------------------------------------------------------------------------------


def created_users(plan, tenant: pd.DataFrame, credentials: pd.DataFrame) -> pd.DataFrame:
    """One template row per created tenant user, in plan order, with its initial password (R1)."""
    keys = tenant.loc[tenant["change"].eq("create_user") & tenant["entity"].eq("user"), "key"]
    users = plan.planned.users
    users = users.set_axis(lower(users["user_principal_name"])).loc[lambda u: ~u.index.duplicated()]
    rows = users.reindex(keys.to_numpy())
    secrets = credentials.set_axis(lower(credentials["user_principal_name"]))["password"]
    passwords = secrets.loc[~secrets.index.duplicated()].reindex(keys.to_numpy())
    if passwords.isna().any():
        missing = ", ".join(keys[passwords.isna().to_numpy()].head(3))
        raise FatalError(f"no initial password for created users ({missing}…): nothing emitted")
    out = pd.DataFrame(
        {header: rows[column] for header, column in CREATE_COLUMNS.items() if column},
        index=rows.index,
    )
    out.insert(0, "Name [displayName] Required", _display_names(rows))
    out.insert(2, "Initial password [passwordProfile] Required", passwords)
    # Entra's "Block sign in" is the inverse of sign_in_allowed (SPEC §2).
    block = np.where(rows["sign_in_allowed"].eq("no").fillna(False), "Yes", "No")
    out.insert(3, "Block sign in (Yes/No) [accountEnabled] Required", block)
    return out[list(CREATE_COLUMNS)].reset_index(drop=True)


def _display_names(rows: pd.DataFrame) -> pd.Series:
    """Display name, else first and last name, else the UPN (the template requires a name)."""
    first, last = rows["first_name"].fillna(""), rows["last_name"].fillna("")
    joined = (first + " " + last).str.strip()
    joined = joined.mask(joined.eq(""))
    return rows["display_name"].fillna(joined).fillna(rows["user_principal_name"])


def write_bulk_create(
    out_dir: Path, plan, tenant: pd.DataFrame, credentials: pd.DataFrame, chunk_rows: int
) -> list[Entry]:
    """Files of at most ``chunk_rows`` created users each (one upload finishes within
    Entra's one-hour job limit), mode 0600: they hold passwords (R1)."""
    rows = created_users(plan, tenant, credentials)
    entries = []
    for number, start in enumerate(range(0, len(rows), chunk_rows), 1):
        chunk = rows.iloc[start : start + chunk_rows]
        path = write_table(out_dir / CREATE_FILE.format(number), CREATE_HEADER, chunk, secret=True)
        entries.append(
            Entry(
                path,
                f"{counted(len(chunk), 'user')} to create: Entra admin center > Users > "
                "Bulk operations > Bulk create (holds initial passwords: delete after use)",
            )
        )
    return entries


# -- delete ---------------------------------------------------------------------------------


def deleted_users(plan, tenant: pd.DataFrame) -> pd.Series:
    """The UPN (as the store wrote it) of every deleted tenant user, in plan order."""
    keys = tenant.loc[tenant["change"].eq("delete_user") & tenant["entity"].eq("user"), "key"]
    users = plan.current.users
    written = pd.Series(
        users["user_principal_name"].to_numpy(), index=lower(users["user_principal_name"])
    )
    written = written.loc[~written.index.duplicated()]
    return written.reindex(keys.to_numpy()).fillna(
        pd.Series(keys.to_numpy(), index=keys.to_numpy())
    )


def write_bulk_delete(out_dir: Path, plan, tenant: pd.DataFrame) -> list[Entry]:
    upns = deleted_users(plan, tenant)
    if upns.empty:
        return []
    path = write_table(out_dir / DELETE_FILE, DELETE_HEADER, pd.DataFrame({"upn": upns.to_numpy()}))
    where = "Entra admin center > Users > Bulk operations > Bulk delete"
    note = f"{counted(len(upns), 'user')} to delete: {where}"
    return [Entry(path, note)]


# -- group members --------------------------------------------------------------------------


def membership_changes(plan, tenant: pd.DataFrame) -> pd.DataFrame:
    """add_member / remove_member changes as change, key, group, member, member_is_group."""
    rows = tenant[tenant["entity"].eq("membership")]
    # key = group|member; a member (a UPN, or a group) has no "|" but a group name may:
    # split at the last one. Keys with several "|" take the change's JSON, which names
    # both exactly (per-row json.loads, for those rare rows only).
    parts = rows["key"].str.rsplit("|", n=1, expand=True).reindex(columns=[0, 1])
    parsed = pd.DataFrame({"group": parts[0], "member": parts[1]}, index=rows.index)
    odd = rows["key"].str.count(r"\|").gt(1).to_numpy()
    if odd.any():
        payload = rows["after"].where(rows["change"].eq("add_member"), rows["before"])[odd]
        exact = pd.DataFrame([json.loads(t) for t in payload], index=payload.index)
        parsed.loc[odd, ["group", "member"]] = exact[["group", "member"]]
    groups = pd.concat([plan.current.groups["name"], plan.planned.groups["name"]])
    return pd.DataFrame(
        {
            "change": rows["change"],
            "key": rows["key"],
            "group": parsed["group"].astype("str"),
            "member": parsed["member"].astype("str"),
            "member_is_group": lower(parsed["member"]).isin(set(lower(groups))),
        }
    ).reset_index(drop=True)


def write_group_members(out_dir: Path, plan, tenant: pd.DataFrame) -> list[Entry]:
    """One add file and one remove file per group, for user members (the portal takes UPNs).

    Groups as members need object ids the store does not hold: the script adds them.
    """
    rows = membership_changes(plan, tenant)
    rows = rows[~rows["member_is_group"]].assign(_slug=lambda r: file_slug(r["group"]))
    entries = []
    for verb, change, action in (
        ("add", "add_member", "Import members"), ("remove", "remove_member", "Remove members")
    ):  # fmt: skip
        chosen = rows[rows["change"].eq(change)]
        for slug, members in chosen.groupby("_slug", sort=False):
            path = out_dir / MEMBERS_FILE.format(verb=verb, group=slug)
            write_table(path, MEMBERS_HEADER, members[["member"]])
            group = members["group"].iloc[0]
            entries.append(
                Entry(
                    path,
                    f"{counted(len(members), 'member')} to {verb}: Entra admin center > "
                    f"Groups > {group} > Members > Bulk operations > {action}",
                )
            )
    return entries
