"""The words of SPEC §2 and §7: kinds, canonical columns, enums, changes, outcomes.

Reports are a public interface: these strings are read by scripts. Change none lightly.
"""

KINDS = ("users", "licenses", "memberships", "roles", "records")

USER_COLUMNS = (
    "user_principal_name", "first_name", "last_name", "display_name", "job_title",
    "department", "office", "office_phone", "mobile_phone", "fax", "email",
    "street_address", "city", "state_or_province", "postal_code", "country_or_region",
    "usage_location", "sign_in_allowed", "admin_role", "access_mode", "user_type",
    "application_id", "password", "action",
)  # fmt: skip

COLUMNS = {
    "users": USER_COLUMNS,
    "licenses": ("user_principal_name", "sku", "action"),
    "memberships": ("group", "member", "action"),
    "roles": ("user_principal_name", "role", "environment", "action"),
    "records": ("table", "record_id", "owner", "environment"),
}

REQUIRED = {
    "users": ("user_principal_name",),
    "licenses": ("user_principal_name", "sku"),
    "memberships": ("group", "member"),
    "roles": ("user_principal_name", "role"),
    "records": ("table", "record_id", "owner"),
}

# Where each row came from; every kind frame carries these (SPEC §2, §7).
SOURCE_COLUMNS = ("source_file", "source_sheet", "source_row")

# What validation adds to every kind frame beside the input columns.
ROW_META_COLUMNS = (*SOURCE_COLUMNS, "key", "outcome")

# The entity an input row of each kind is (results.csv `entity`).
ENTITY_OF_KIND = {
    "users": "user",
    "licenses": "license",
    "memberships": "membership",
    "roles": "role",
    "records": "record",
}
ENTITIES = ("user", "license", "membership", "role", "record", "environment_user", "stub")

# Field limits (Microsoft 365), SPEC §2.
MAX_LENGTH = {
    "user_principal_name": 79,
    "first_name": 64, "last_name": 64, "job_title": 64, "department": 64,
    "display_name": 256, "office": 128,
    "office_phone": 64, "mobile_phone": 64, "fax": 64,
    "street_address": 1023, "city": 128, "state_or_province": 128, "country_or_region": 128,
    "postal_code": 40, "email": 100,
}  # fmt: skip

# A blank cell never changes a stored value; this one empties the field.
CLEAR = "(clear)"

# Enums, canonical spelling (inputs match case- and hyphen-insensitively).
USER_ACTIONS = ("upsert", "disable", "delete")
LICENSE_ACTIONS = ("assign", "remove")
MEMBERSHIP_ACTIONS = ("add", "remove")
ROLE_ACTIONS = ("assign", "remove")
ACTIONS = {
    "users": USER_ACTIONS,
    "licenses": LICENSE_ACTIONS,
    "memberships": MEMBERSHIP_ACTIONS,
    "roles": ROLE_ACTIONS,
}
DEFAULT_ACTION = {"users": "upsert", "licenses": "assign", "memberships": "add", "roles": "assign"}

ACCESS_MODES = ("read-write", "administrative", "non-interactive")
USER_TYPES = ("interactive", "application")
ENV_USER_TYPES = ("interactive", "application", "stub")
ENV_USER_STATUSES = ("enabled", "disabled")
# Canonical admin roles (R9); input may say "admin" or "administrator", any case.
ADMIN_ROLES = ("Global admin", "Power Platform admin", "Dynamics 365 admin")
TRUE_WORDS = ("yes", "true", "1")
FALSE_WORDS = ("no", "false", "0")

ENVIRONMENT_KINDS = ("dynamics365", "powerapps")
DEFAULT_ROLES = {
    "dynamics365": ("System Administrator", "Basic User", "Salesperson"),
    "powerapps": ("System Administrator", "Basic User"),
}
# R12: the role a stub gets by the kind of its environment.
STUB_ROLE = {"dynamics365": "Salesperson", "powerapps": "Basic User"}
# R10
MAX_NON_INTERACTIVE = 7

# results.csv
OUTCOMES = ("valid", "changed", "unchanged", "failed", "invalid", "skipped")
LEVELS = ("info", "warning", "error")
LEVEL_RANK = {"info": 0, "warning": 1, "error": 2}

# changes.csv, one row per change, derived ones included (SPEC §7).
CHANGE_COLUMNS = (
    "environment", "entity", "key", "change", "before", "after", "rule",
    "source_file", "source_row",
)  # fmt: skip

# changes.csv `change`
CHANGES = (
    "create_user", "update_user", "delete_user", "assign_license", "remove_license",
    "add_member", "remove_member", "enable_user", "disable_user", "set_access_mode",
    "invitation_required", "assign_role", "remove_role", "create_stub", "delete_stub",
    "assign_record", "reassign_record", "update_primary_email",
)  # fmt: skip

# Check names that stand in the `rule` column beside rule ids.
CHECKS = (
    "unknown_user", "unknown_group", "unknown_sku", "unknown_role", "unknown_environment",
    "unverified_domain", "duplicate",
)  # fmt: skip

# SPEC §6 exit codes
EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_PARTIAL = 4
EXIT_PENDING = 5
