"""One pandera schema per kind of input (SPEC §2), with the columns that make a row's key.

``SCHEMAS[kind]`` validates a kind frame (``lazy=True``); ``KEYS[kind]`` are the columns
whose values, joined by ``|``, form the `key` of SPEC §7; ``ENUMS[kind]`` maps each enum
column to its canonical values.
"""

from __future__ import annotations

from userbatch.schemas import licenses, memberships, records, roles, users

_MODULES = {
    "users": users,
    "licenses": licenses,
    "memberships": memberships,
    "roles": roles,
    "records": records,
}
SCHEMAS = {
    "users": users.UsersSchema,
    "licenses": licenses.LicensesSchema,
    "memberships": memberships.MembershipsSchema,
    "roles": roles.RolesSchema,
    "records": records.RecordsSchema,
}
KEYS = {kind: module.KEY for kind, module in _MODULES.items()}
ENUMS = {kind: module.ENUMS for kind, module in _MODULES.items()}

__all__ = ["ENUMS", "KEYS", "SCHEMAS"]
