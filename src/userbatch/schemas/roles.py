"""The roles schema (SPEC §2): assign or remove a security role in an environment."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from userbatch.schemas.common import SchemaConfig, enum_field, key_field, text_field
from userbatch.vocabulary import ROLE_ACTIONS

ENUMS = {"action": ROLE_ACTIONS}
KEY = ("environment", "user_principal_name", "role")


class RolesSchema(pa.DataFrameModel):
    user_principal_name: Series[str] = key_field("user_principal_name", upn_syntax={})
    role: Series[str] = key_field("role")
    environment: Series[str] = text_field("environment")  # blank: the --env default
    action: Series[str] = enum_field(ROLE_ACTIONS)

    class Config(SchemaConfig):
        name = "roles"
