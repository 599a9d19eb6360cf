"""Header spellings map to canonical columns (SPEC §2 alias table)."""

from __future__ import annotations

import pytest

from userbatch.io.aliases import BLOCK_SIGN_IN, resolve


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("user_principal_name", "user_principal_name"),
        ("User Principal Name", "user_principal_name"),
        ("USER-PRINCIPAL-NAME", "user_principal_name"),
        ("User name [userPrincipalName] Required", "user_principal_name"),
        ("Name [displayName] Required", "display_name"),  # the label alone says nothing
        ("Initial password [passwordProfile] Required", "password"),
        ("Block sign in (Yes/No) [accountEnabled] Required", BLOCK_SIGN_IN),
        ("accountEnabled", "sign_in_allowed"),
        ("Office Number", "office"),
        ("Alternate email address", "email"),
        ("mail", "email"),
        ("ZIP or Postal Code", "postal_code"),
        ("Member object ID or user principal name [memberObjectIdOrUpn] Required", "member"),
        ("\ufeffUser Name", "user_principal_name"),
        ("User Type", "user_type"),
    ],
)
def test_header_spellings_resolve_to_canonical_columns(header, column):
    assert resolve(header).column == column


def test_entra_user_type_is_not_our_user_type():
    header = resolve("userType")
    assert header.column is None and "Member/Guest" in header.ignore


def test_errors_file_columns_are_ignored_silently():
    assert {resolve(h).ignore for h in ("source_file", "source_row", "Source Sheet", "error")} == {
        "source"
    }


def test_unknown_header_resolves_to_nothing():
    assert resolve("Favourite colour") == ("Favourite colour", "favouritecolour", None, None)
