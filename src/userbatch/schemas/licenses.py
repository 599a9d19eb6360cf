"""The licenses schema (SPEC §2): assign or remove a SKU for a user."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from userbatch.schemas.common import SchemaConfig, enum_field, key_field
from userbatch.vocabulary import LICENSE_ACTIONS

ENUMS = {"action": LICENSE_ACTIONS}
KEY = ("user_principal_name", "sku")


class LicensesSchema(pa.DataFrameModel):
    user_principal_name: Series[str] = key_field("user_principal_name", upn_syntax={})
    sku: Series[str] = key_field("sku")
    action: Series[str] = enum_field(LICENSE_ACTIONS)

    class Config(SchemaConfig):
        name = "licenses"
