"""Memberships: refused rows among many valid ones, existing pairs unchanged, R5."""

import json

from tests.engine.helpers import changes, make_store, outcomes, problems, run

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
