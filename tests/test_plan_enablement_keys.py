"""Environment users, roles and R8 warnings matched through key codes: case and spaces,
missing name parts, users gone from the tenant, touched keys with or without rows."""

import pandas as pd

from tests.engine.helpers import changes, make_store, problems, run
from userbatch.plan.context import Context, PlanOptions
from userbatch.plan.rules.enablement import derive_environment_users
from userbatch.plan.rules.roles import warn_roleless
from userbatch.state.model import State

ENVIRONMENTS = pd.DataFrame(
    {
        "name": ["sales", "apps"],
        "kind": ["dynamics365", "powerapps"],
        "security_group": ["SG-Sales", "SG-Apps"],
        "allow_role_assignment_on_disabled_users": ["no", "no"],
    }
)
SKUS = pd.DataFrame({"sku": ["SALES"], "total_units": [10], "grants_access": ["yes"]})


def _state(users, licenses=(), memberships=(), environment_users=None) -> State:
    return State(
        {
            "environments": ENVIRONMENTS,
            "skus": SKUS,
            "users": pd.DataFrame(users),
            "licenses": pd.DataFrame(licenses, columns=["user_principal_name", "sku"]),
            "memberships": pd.DataFrame(memberships, columns=["group", "member"]),
            "environment_users": environment_users,
        }
    )


def _by_user(frame: pd.DataFrame, environment: str) -> pd.DataFrame:
    return frame[frame["environment"] == environment].set_index("user_name")


def test_license_and_membership_match_the_user_whatever_the_case_and_spaces():
    state = _state(
        {"user_principal_name": ["Ann@Contoso.example", "bob@contoso.example"]},
        licenses=[[" ANN@contoso.EXAMPLE ", "SALES"]],
        memberships=[["sg-sales", "ann@CONTOSO.example"], ["SG-Apps", " Bob@Contoso.Example"]],
    )
    derived = derive_environment_users(state)
    assert _by_user(derived, "sales")["status"].to_dict() == {"Ann@Contoso.example": "enabled"}
    # Bob is in the apps group but holds no access-granting license (R4).
    assert _by_user(derived, "apps")["status"].to_dict() == {"bob@contoso.example": "disabled"}


def test_user_without_name_or_address_parts_gets_display_name_and_no_address():
    state = _state(
        {
            "user_principal_name": ["ann@contoso.example", "bob@contoso.example"],
            "first_name": [None, "Bob"],
            "display_name": ["Ann L.", "Robert"],
            "city": [None, "Springfield"],
            "country_or_region": [None, "United States"],
        },
        memberships=[["SG-Sales", "ann@contoso.example"], ["SG-Sales", "bob@contoso.example"]],
    )
    sales = _by_user(derive_environment_users(state), "sales")
    assert sales.loc["ann@contoso.example", "full_name"] == "Ann L."
    assert pd.isna(sales.loc["ann@contoso.example", "address"])
    assert sales.loc["bob@contoso.example", "full_name"] == "Bob"
    assert sales.loc["bob@contoso.example", "address"] == "Springfield, United States"


def test_environment_user_gone_from_the_tenant_is_kept_disabled_and_a_stub_keeps_its_status():
    existing = pd.DataFrame(
        {
            "environment": ["sales", "sales", "sales"],
            "user_name": ["gone@contoso.example", "Old Owner", "ANN@contoso.example"],
            "user_type": ["interactive", "stub", "interactive"],
            "status": ["enabled", "disabled", "disabled"],
            "primary_email": ["gone@contoso.example", None, "ann@old.example"],
            "invitation_required": ["no", "no", "no"],
        }
    )
    state = _state(
        {"user_principal_name": ["ann@contoso.example"], "email": ["ann@new.example"]},
        licenses=[["ann@contoso.example", "SALES"]],
        memberships=[["SG-Sales", "ann@contoso.example"]],
        environment_users=existing,
    )
    sales = _by_user(derive_environment_users(state), "sales")
    assert sales["status"].to_dict() == {
        "ann@contoso.example": "enabled",
        "gone@contoso.example": "disabled",
        "Old Owner": "disabled",
    }
    ann = sales.loc["ann@contoso.example"]
    assert ann["primary_email"] == "ann@old.example"  # R3: set at creation
    assert ann["invitation_required"] == "yes"  # R6: enabled again


def test_role_removal_matches_the_held_role_whatever_the_case(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,usage_location\nann@contoso.example,US\n",
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
        roles="user_principal_name,role,environment\nann@contoso.example,Salesperson,sales\n",
    )
    result = run(
        tmp_path, state,
        roles="user_principal_name,role,environment,action\n ANN@Contoso.example ,salesPERSON,SALES,remove\n",
    )  # fmt: skip
    assert changes(result, "remove_role")["key"].tolist() == [
        "sales|ann@contoso.example|Salesperson"
    ]
    assert len(problems(result, "R8")) == 1  # no role left, still enabled


def _roleless(touched: pd.Series) -> list[str]:
    env_users = pd.DataFrame(
        {
            "environment": ["sales", "sales", "apps", "apps"],
            "user_name": [
                "Ann@contoso.example",
                "bob@contoso.example",
                "ann@contoso.example",
                "cy@x",
            ],
            "user_type": ["interactive", "interactive", "interactive", "stub"],
            "status": ["enabled", "enabled", "enabled", "enabled"],
        }
    )
    roles = pd.DataFrame(
        {"environment": ["sales"], "user_principal_name": ["BOB@contoso.example"], "role": ["X"]}
    )
    ctx = Context({}, _state({"user_principal_name": []}), PlanOptions())
    warn_roleless(ctx, env_users, roles, touched)
    return ctx.problems.frame()["message"].tolist()


def test_roleless_warning_is_the_same_with_or_without_the_touched_rows():
    keys = ["sales|ann@contoso.example", "sales|bob@contoso.example", "apps|cy@x"]
    by_rows = _roleless(pd.Series(keys, index=[0, 1, 3], dtype="str"))
    by_value = _roleless(pd.Series(keys, dtype="str"))  # index says nothing about rows
    assert (
        by_rows
        == by_value
        == [
            "Ann@contoso.example is enabled in sales with no security role: it can sign in but "
            "reach no app"
        ]
    )


def test_existing_environment_users_keep_their_rows_first_and_in_order_new_ones_follow():
    # The existing table lists bob before ann (tenant order: ann, cy, bob); cy is new.
    existing = pd.DataFrame(
        {
            "environment": ["sales", "sales", "sales"],
            "user_name": ["bob@contoso.example", "gone@contoso.example", "ann@contoso.example"],
            "user_type": ["interactive"] * 3,
            "status": ["enabled"] * 3,
            "invitation_required": ["no"] * 3,
        }
    )
    users = ["ann@contoso.example", "cy@contoso.example", "bob@contoso.example"]
    state = _state(
        {"user_principal_name": users},
        licenses=[[u, "SALES"] for u in users],
        memberships=[["SG-Sales", u] for u in users],
        environment_users=existing,
    )
    derived = derive_environment_users(state)
    assert derived["user_name"].tolist() == [
        "bob@contoso.example", "gone@contoso.example", "ann@contoso.example", "cy@contoso.example",
    ]  # fmt: skip
    assert derived["status"].tolist() == ["enabled", "disabled", "enabled", "enabled"]
    # The index keeps the derivation order (tenant order, then users gone from the tenant).
    assert derived.index.tolist() == [2, 3, 0, 1]


def test_large_key_lookups_match_exactly_even_when_hashes_collide(monkeypatch):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from userbatch.plan import keys

    text = pa.large_string()
    names = [f"user{i}@contoso.example" for i in range(6000)] + ["", "x" * 70, "Ünïcødé", None]
    values = pa.array(names + ["user5@contoso.example", "absent"], type=text).slice(3)
    dictionary = pc.unique(pa.array(names[:5000] + ["", "x" * 70, None], type=text))
    expected = pc.fill_null(pc.index_in(values, value_set=dictionary), len(dictionary))
    expected = expected.to_numpy(zero_copy_only=False)
    assert (keys.positions(values, dictionary) == expected).all()
    hashes = keys.hashes  # every text into one of 256 hashes: collisions fall back
    monkeypatch.setattr(keys, "hashes", lambda a: hashes(a) & np.uint64(0xFF))
    assert (keys.positions(values, dictionary) == expected).all()
