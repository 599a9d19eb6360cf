"""Memberships: refused rows among many valid ones, existing pairs unchanged, R5."""

import json

import pandas.testing as pdt

from tests.engine.helpers import changes, make_store, outcomes, problems, run
from userbatch.plan.rules.enablement import derive_environment_users
from userbatch.state.model import conform

USERS = """
    user_principal_name,usage_location
    ann@contoso.example,US
    bo@contoso.example,US
"""


def test_each_membership_row_gets_its_own_answer(tmp_path):
    state = make_store(
        tmp_path, users=USERS, groups="name\nSG-Sales\nTeam-A\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state,
        memberships="group,member\n"
        "sg-sales,ANN@contoso.example\n"
        "Nope,bo@contoso.example\n"
        "team-a,bo@contoso.example\n"
        "Team-A,ghost@contoso.example\n",
    )  # fmt: skip
    assert outcomes(result, "memberships") == ["unchanged", "failed", "changed", "failed"]
    assert len(problems(result, "unknown_group")) == 1
    assert len(problems(result, "unknown_user")) == 1
    added = changes(result, "add_member")
    assert added["key"].tolist() == ["Team-A|bo@contoso.example"]
    assert json.loads(added["after"].iloc[0]) == {"group": "Team-A", "member": "bo@contoso.example"}


def test_member_of_a_nested_group_only_is_warned_r5(tmp_path):
    state = make_store(
        tmp_path, users=USERS, groups="name\nSG-Sales\nTeam-A\n",
        memberships="group,member\nSG-Sales,Team-A\nSG-Sales,ann@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state,
        memberships="group,member\nTeam-A,bo@contoso.example\nTeam-A,ann@contoso.example\n",
    )  # fmt: skip
    warned = problems(result, "R5")
    assert warned["key"].tolist() == ["Team-A|bo@contoso.example"]  # ann is a direct member


def test_removals_end_only_held_memberships_and_adds_skip_existing_ones(tmp_path):
    state = make_store(
        tmp_path, users=USERS, groups="name\nSG-Sales\nTeam-A\n",
        memberships="group,member\nSG-Sales,ann@contoso.example\nSG-Sales,Team-A\n"
        "Team-A,bo@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state,
        memberships="group,member,action\n"
        "sg-sales,Ann@Contoso.example,remove\n"
        "SG-Sales,bo@contoso.example,remove\n"
        "SG-SALES,team-a,remove\n"
        "team-a,BO@contoso.example,add\n"
        "Team-A,ann@contoso.example,add\n",
    )  # fmt: skip
    # bo was never in SG-Sales: nothing to remove; bo is in Team-A already: nothing to add.
    removed = changes(result, "remove_member")
    assert removed["key"].tolist() == ["SG-Sales|ann@contoso.example", "SG-Sales|Team-A"]
    assert changes(result, "add_member")["key"].tolist() == ["Team-A|ann@contoso.example"]
    assert outcomes(result, "memberships") == [
        "changed", "unchanged", "changed", "unchanged", "changed",
    ]  # fmt: skip


def test_planner_enables_the_same_users_as_a_derivation_from_the_planned_texts(tmp_path):
    """The planner derives environment users from the memberships rule's codes; a plain
    derivation from the planned tables' texts gives the same table."""

    state = make_store(
        tmp_path,
        users="user_principal_name,usage_location\n"
        + "".join(f"u{i}@contoso.example,US\n" for i in range(6)),
        licenses="user_principal_name,sku\n"
        + "".join(f"u{i}@contoso.example,SALES\n" for i in range(6)),
        groups="name\nSG-Sales\nTeam-A\n",
        memberships="group,member\nSG-Sales,u0@contoso.example\nsg-sales,U1@Contoso.example\n"
        "SG-Sales,Team-A\nTeam-A,u2@contoso.example\nSG-Sales,u5@contoso.example\n",
    )  # fmt: skip
    result = run(
        tmp_path, state,
        users="user_principal_name,usage_location,action\n"
        "U3@Contoso.Example,US,upsert\nnew@contoso.example,US,upsert\n"
        "u5@contoso.example,,delete\n",
        licenses="user_principal_name,sku\nnew@contoso.example,SALES\n",
        memberships="group,member,action\n"
        "SG-SALES,u1@contoso.example,remove\nsg-sales,U3@CONTOSO.example,add\n"
        "SG-Sales,NEW@contoso.example,add\nTeam-A,u4@contoso.example,add\n",
    )  # fmt: skip
    planned = result.plan.planned
    derived = derive_environment_users(planned, result.plan.current.environment_users)
    status = dict(zip(derived["user_name"], derived["status"], strict=True))
    assert {u for u, s in status.items() if s == "enabled"} == {
        "u0@contoso.example", "u3@contoso.example", "new@contoso.example",
    }  # fmt: skip
    pdt.assert_frame_equal(conform("environment_users", derived), planned.environment_users)
