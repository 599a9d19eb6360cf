"""The users schema (SPEC §2): one row per tenant user to create, update, disable or delete."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from userbatch.schemas.common import (
    SchemaConfig,
    clear_mask,
    enum_field,
    fold,
    key_field,
    per_value_ok,
    text_field,
)
from userbatch.vocabulary import ACCESS_MODES, ADMIN_ROLES, USER_ACTIONS, USER_TYPES

# Enum columns and their canonical values, for normalization of valid rows.
ENUMS = {
    "admin_role": ADMIN_ROLES,
    "access_mode": ACCESS_MODES,
    "user_type": USER_TYPES,
    "action": USER_ACTIONS,
}
KEY = ("user_principal_name",)


class UsersSchema(pa.DataFrameModel):
    user_principal_name: Series[str] = key_field("user_principal_name", upn_syntax={})
    first_name: Series[str] = text_field("first_name")
    last_name: Series[str] = text_field("last_name")
    display_name: Series[str] = text_field("display_name")
    job_title: Series[str] = text_field("job_title")
    department: Series[str] = text_field("department")
    office: Series[str] = text_field("office")
    office_phone: Series[str] = text_field("office_phone")
    mobile_phone: Series[str] = text_field("mobile_phone")
    fax: Series[str] = text_field("fax")
    email: Series[str] = text_field("email", email_syntax={})
    street_address: Series[str] = text_field("street_address")
    city: Series[str] = text_field("city")
    state_or_province: Series[str] = text_field("state_or_province")
    postal_code: Series[str] = text_field("postal_code")
    country_or_region: Series[str] = text_field("country_or_region")
    usage_location: Series[str] = text_field("usage_location", usage_location={})
    sign_in_allowed: Series[str] = text_field("sign_in_allowed", boolean={})
    admin_role: Series[str] = enum_field(ADMIN_ROLES)
    access_mode: Series[str] = enum_field(ACCESS_MODES)
    user_type: Series[str] = enum_field(USER_TYPES)
    application_id: Series[str] = text_field("application_id", application_id={})
    password: Series[str] = text_field("password")  # never checked, never reported (R1)
    action: Series[str] = enum_field(USER_ACTIONS)

    class Config(SchemaConfig):
        name = "users"

    @pa.dataframe_check(name="application_id")
    def application_user_has_application_id(cls, frame: pd.DataFrame) -> Series[bool]:
        """user_type application needs an application_id (its syntax is the column's check)."""
        other = per_value_ok(frame["user_type"], lambda v: fold(v) != "application")
        ids = frame["application_id"]
        has_id = ids.notna().to_numpy() & ~clear_mask(ids)
        return pd.Series(other | has_id, index=frame.index)
