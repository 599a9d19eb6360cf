"""Updates, creates and refused rows interleaved in one users file: each row gets its own
answer, and the change JSON holds exactly the values written (escaped)."""

import json

from tests.engine.helpers import changes, make_store, outcomes, problems, run
from userbatch.state.store import Store

EXISTING = """
    user_principal_name,first_name,job_title,department,usage_location
    Ann.Lee@contoso.example,Ann,Buyer,Purchasing,US
    bo.ng@contoso.example,Bo,Clerk,Sales,US
"""


def test_updates_creates_and_refusals_interleaved_keep_their_own_rows(tmp_path):
    state = make_store(tmp_path, users=EXISTING, domains="domain\ncontoso.example\n")
    result = run(
        tmp_path, state, apply=True,
        users="user_principal_name,job_title,department\n"
        "new.one@contoso.example,Analyst,\n"
        "ann.lee@contoso.example,Head Buyer,\n"
        "x@elsewhere.example,Spy,\n"
        "bo.ng@contoso.example,Clerk,Sales\n"
        "new.two@contoso.example,,(clear)\n",
    )  # fmt: skip
    assert outcomes(result, "users") == ["changed", "changed", "failed", "unchanged", "changed"]
    assert len(problems(result, "unverified_domain")) == 1
    update = changes(result, "update_user", "user")
    assert update["key"].tolist() == ["ann.lee@contoso.example"]
    assert json.loads(update["after"].iloc[0]) == {"job_title": "Head Buyer"}
    created = changes(result, "create_user", "user").set_index("key")["after"].map(json.loads)
    assert created["new.one@contoso.example"] == {
        "user_principal_name": "new.one@contoso.example",
        "job_title": "Analyst",
    }
    # (clear) on a new user leaves the field out; a blank one too.
    assert created["new.two@contoso.example"] == {"user_principal_name": "new.two@contoso.example"}
    stored = Store.open(state).load().users.set_index("user_principal_name")
    assert stored.loc["Ann.Lee@contoso.example", "job_title"] == "Head Buyer"
    assert stored.loc["Ann.Lee@contoso.example", "department"] == "Purchasing"
    assert stored.loc["bo.ng@contoso.example", "job_title"] == "Clerk"
    assert "x@elsewhere.example" not in stored.index


def test_quotes_backslashes_and_accents_survive_in_change_json(tmp_path):
    state = make_store(tmp_path, users=EXISTING)
    result = run(
        tmp_path, state,
        users='user_principal_name,job_title,display_name\n'
        'ann.lee@contoso.example,"Buyer ""A"" \\ Ops",\n'
        'zoe@contoso.example,,"Zoë ""Z"" Ünal"\n',
    )  # fmt: skip
    update = changes(result, "update_user", "user")
    assert json.loads(update["before"].iloc[0]) == {"job_title": "Buyer"}
    assert json.loads(update["after"].iloc[0]) == {"job_title": 'Buyer "A" \\ Ops'}
    created = json.loads(changes(result, "create_user", "user")["after"].iloc[0])
    assert created["display_name"] == 'Zoë "Z" Ünal'
