"""The records schema (SPEC §2): imported Dataverse records and their owners (R12).

Any other column of a records file is kept as data; the schema does not look at it.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from userbatch.schemas.common import SchemaConfig, key_field, text_field

ENUMS: dict[str, tuple[str, ...]] = {}
KEY = ("environment", "table", "record_id")


class RecordsSchema(pa.DataFrameModel):
    table: Series[str] = key_field("table")
    record_id: Series[str] = key_field("record_id")
    owner: Series[str] = key_field("owner")  # a user name, email or full name (R12)
    environment: Series[str] = text_field("environment")  # blank: the --env default

    class Config(SchemaConfig):
        name = "records"
