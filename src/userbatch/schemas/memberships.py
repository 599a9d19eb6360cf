"""The memberships schema (SPEC §2): add or remove a member (a user or a group) of a group."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from userbatch.schemas.common import SchemaConfig, enum_field, key_field
from userbatch.vocabulary import MEMBERSHIP_ACTIONS

ENUMS = {"action": MEMBERSHIP_ACTIONS}
KEY = ("group", "member")


class MembershipsSchema(pa.DataFrameModel):
    group: Series[str] = key_field("group")
    # A member is a group name or a UPN (resolved at plan time), so no syntax check here.
    member: Series[str] = key_field("member")
    action: Series[str] = enum_field(MEMBERSHIP_ACTIONS)

    class Config(SchemaConfig):
        name = "memberships"
