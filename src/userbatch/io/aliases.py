"""Header aliases: the spellings of Microsoft's own files and of people, mapped to our columns.

Headers match case-insensitively, ignoring spaces, ``_`` and ``-``, a bracketed Graph
property (``User name [userPrincipalName] Required``) and a trailing ``Required`` (SPEC §2).
The label is tried first, then the bracketed property: Entra's ``Block sign in (Yes/No)
[accountEnabled]`` is the *inverse* of accountEnabled, so the label must win.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from userbatch.vocabulary import COLUMNS

# Entra "Bulk create users": the inverse of sign_in_allowed; readers turn it into that column.
BLOCK_SIGN_IN = "block_sign_in"

# Columns our own errors files carry; dropped without a word when such a file is fed back.
SOURCE_HEADERS = ("source_file", "source_sheet", "source_row", "error")

# Canonical column -> the other spellings seen in the wild (compared normalized).
ALIASES: dict[str, tuple[str, ...]] = {
    "user_principal_name": ("User Name", "UPN", "User principal name", "Sign-in name"),
    "first_name": ("givenName", "Given name"),
    "last_name": ("surname",),
    "display_name": (),
    "job_title": ("Title",),
    "department": (),
    "office": ("Office Number", "physicalDeliveryOfficeName"),
    "office_phone": ("telephoneNumber", "Business phone", "businessPhones"),
    "mobile_phone": ("mobile",),
    "fax": ("Fax number", "faxNumber"),
    "email": ("Alternate email address", "mail", "Email address"),
    "street_address": ("Address",),
    "city": (),
    "state_or_province": ("State", "Province"),
    "postal_code": ("ZIP or Postal Code", "ZIP", "ZIP code"),
    "country_or_region": ("Country",),
    "usage_location": (),
    "sign_in_allowed": ("accountEnabled", "Account enabled"),
    BLOCK_SIGN_IN: ("Block sign in (Yes/No)", "Block sign in"),
    "admin_role": (),
    "access_mode": (),
    "user_type": (),
    "application_id": ("App ID", "Application (client) ID"),
    "password": ("Initial password", "passwordProfile"),
    "action": (),
    "sku": ("License", "skuPartNumber"),
    "group": ("Group name", "Security group"),
    "member": ("memberObjectIdOrUpn", "Member object ID or user principal name"),
    "role": ("Security role",),
    "environment": (),
    "table": (),
    "record_id": (),
    "owner": ("Owning user",),
}

# Exact (case-sensitive) Graph property names of Entra's "Download users" CSV that collide
# with one of our spellings once normalized but do not mean our column.
GRAPH_IGNORED = {
    "userType": "Entra's userType (Member/Guest) is not userbatch's user_type",
    "alternateEmailAddress": "Entra's alternateEmailAddress is not the user's email",
}

_HEADER = re.compile(
    r"^(?P<label>.*?)(?:\s*\[(?P<prop>[^\]]*)\])?(?:\s+required)?\s*$", re.IGNORECASE | re.DOTALL
)


def normalize(text: str) -> str:
    """Lower-case without spaces, ``_`` or ``-`` (a BOM that slipped through goes too)."""
    return re.sub(r"[\s_\-\ufeff]+", "", text).lower()


def _lookup_table() -> dict[str, str]:
    table: dict[str, str] = {}
    canonical = {c for cols in COLUMNS.values() for c in cols} | set(ALIASES)
    for column in sorted(canonical):
        for spelling in (column, *ALIASES.get(column, ())):
            key = normalize(spelling)
            if table.setdefault(key, column) != column:
                raise ValueError(f"alias {spelling!r} names both {table[key]} and {column}")
    return table


LOOKUP = _lookup_table()
_SOURCE_KEYS = {normalize(h) for h in SOURCE_HEADERS}


class Header(NamedTuple):
    """What a header means: ``column`` (canonical, BLOCK_SIGN_IN or None) and why not."""

    written: str  # the header as written, trimmed
    key: str  # normalized label, for duplicate detection
    column: str | None
    ignore: str | None  # "source" (silently), a message (info), or None


def resolve(header: str) -> Header:
    """Map one header to its canonical column (None when unknown or ignored)."""
    written = header.strip().lstrip("\ufeff").strip()
    if written in GRAPH_IGNORED:
        return Header(written, normalize(written), None, GRAPH_IGNORED[written])
    match = _HEADER.match(written)
    label, prop = match["label"], match["prop"]
    key = normalize(label) or normalize(prop or "")
    if key in _SOURCE_KEYS:
        return Header(written, key, None, "source")
    column = LOOKUP.get(normalize(label)) or (LOOKUP.get(normalize(prop)) if prop else None)
    return Header(written, key, column, None)
