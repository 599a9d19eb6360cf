"""Created rows' ``after`` JSON is made when the change log is written (LazyJson): written
in any chunks, it reads exactly as if it had been made when planned."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from userbatch.plan.changes import ChangeLog
from userbatch.plan.jsoncol import LazyJson, json_arrays

NAMES = ("user_principal_name", "city", "job_title")
VALUES = (
    pa.array(["a@x.example", "b@x.example", "c@x.example", "d@x.example", "e@x.example"]),
    pa.array(['Qu"ote', None, "Zürich", "Line\nbreak", None]),
    pa.array(["Buyer", "Clerk", None, "Back\\slash", "Lead"]),
)


def _log() -> ChangeLog:
    """Eager and lazy parts interleaved, the way the planners add them."""
    log = ChangeLog()
    keys = lambda *k: pd.Series(list(k), dtype="str")  # noqa: E731
    log.add(change="update_user", entity="user", key=keys("u1", "u2"), after='{"city": "Oslo"}')
    log.add(change="create_user", entity="user", key=keys(*"abcde"), after=LazyJson(NAMES, VALUES))
    log.add(change="add_member", entity="membership", key=keys("g|a"), after='{"group": "g"}')
    rows = np.array([4, 0, 2])  # a lazy part read at positions, as environment users are
    log.add(
        change="create_user", entity="environment_user", key=keys("e", "a", "c"),
        after=LazyJson(NAMES, VALUES, rows),
    )  # fmt: skip
    return log


def test_created_rows_json_holds_every_set_field_escaped_and_no_missing_one():
    log = _log()
    whole = log.lazy_after().fill(log.frame())
    created = [json.loads(t) for t in whole["after"].iloc[2:7]]
    assert created[0] == {
        "user_principal_name": "a@x.example",
        "city": 'Qu"ote',
        "job_title": "Buyer",
    }
    assert created[1] == {"user_principal_name": "b@x.example", "job_title": "Clerk"}
    assert created[3] == {
        "user_principal_name": "d@x.example", "city": "Line\nbreak", "job_title": "Back\\slash",
    }  # fmt: skip
    assert [json.loads(t)["user_principal_name"] for t in whole["after"].iloc[8:]] == [
        "e@x.example", "a@x.example", "c@x.example",
    ]  # fmt: skip
    assert (
        whole["after"].iloc[0] == '{"city": "Oslo"}' and whole["after"].iloc[7] == '{"group": "g"}'
    )


def test_lazy_json_renders_as_the_eager_json_did():
    include = [v.is_valid().to_numpy(zero_copy_only=False) for v in VALUES]
    eager = json_arrays(list(NAMES), list(VALUES), include).to_pylist()
    assert LazyJson(NAMES, VALUES).render().to_pylist() == eager


def test_any_chunking_gives_the_same_texts_as_the_whole_log():
    log = _log()
    frame, lazy = log.frame(), log.lazy_after()
    whole = lazy.fill(frame)["after"].tolist()
    assert frame["after"].iloc[2:7].isna().all()  # not held by the plan itself
    for rows in range(1, len(frame) + 1):
        parts = [
            lazy.fill(frame.iloc[start : start + rows], start)["after"].tolist()
            for start in range(0, len(frame), rows)
        ]
        assert sum(parts, []) == whole
