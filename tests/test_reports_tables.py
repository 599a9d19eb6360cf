"""reports.tables: results join problems onto rows; errors files are ready to re-import."""

import pandas as pd

from userbatch.problems import Problems
from userbatch.reports.model import RunReport
from userbatch.reports.tables import changes_table, counts, errors_tables, results_table


def _users():
    return pd.DataFrame(
        {
            "source_file": ["book.xlsx", "book.xlsx", "book.xlsx", "more.csv"],
            "source_sheet": pd.Series(["users", "users", "users", None], dtype="str"),
            "source_row": pd.array([2, 3, 4, 2], dtype="Int64"),
            "user_principal_name": ["a@x.com", "b@x", "c@x.com", "d@x.com"],
            "first_name": ["Ann", "Bo", "Cy", "Di"],
            "password": ["Pa55word!", "Pa55word!", None, None],
            "key": ["a@x.com", "b@x", "c@x.com", "d@x.com"],
            "outcome": ["changed", "invalid", "skipped", "unchanged"],
        }
    )


def _report(**changes):
    users = _users()
    problems = Problems()
    problems.add_rows(users.iloc[[1]], entity="user", rule="trimmed", level="warning",
                      message="first_name was trimmed", column="first_name")  # fmt: skip
    problems.add_rows(users.iloc[[1]], entity="user", rule="email_syntax", level="error",
                      message="user_principal_name has no domain",
                      column="user_principal_name")  # fmt: skip
    problems.add_rows(users.iloc[[2]], entity="user", rule="R13", level="warning",
                      message="skipped: depends on row 3")  # fmt: skip
    # Same row number, other file: must not attach to book.xlsx row 2.
    problems.add_rows(users.iloc[[3]], entity="user", rule="duplicate", level="info",
                      message="duplicate of itself")  # fmt: skip
    problems.add_one(level="info", rule="sheet_skipped", message="README skipped",
                     source_file="book.xlsx")  # fmt: skip
    return RunReport(
        command="plan",
        exit_code=4,
        frames={"users": users},
        columns={"users": ["user_principal_name", "first_name", "password"]},
        problems=problems,
        **changes,
    )


def test_results_have_one_row_per_input_row_in_input_order():
    results = results_table(_report())
    assert list(results.columns) == [
        "source_file", "source_sheet", "source_row", "entity", "key", "outcome",
        "level", "rule", "message",
    ]  # fmt: skip
    assert results["key"].tolist() == ["a@x.com", "b@x", "c@x.com", "d@x.com"]
    assert results["entity"].unique().tolist() == ["user"]


def test_results_carry_the_worst_level_and_every_message_of_a_row():
    row = results_table(_report()).iloc[1]
    assert row["level"] == "error"
    assert row["rule"] == "trimmed; email_syntax"
    assert row["message"] == "first_name was trimmed; user_principal_name has no domain"


def test_results_of_a_row_without_problems_are_blank():
    row = results_table(_report()).iloc[0]
    assert pd.isna(row["level"]) and pd.isna(row["rule"]) and pd.isna(row["message"])


def test_problems_join_on_file_and_sheet_not_row_number_alone():
    results = results_table(_report())
    assert results.iloc[0]["source_row"] == results.iloc[3]["source_row"] == 2
    assert pd.isna(results.iloc[0]["level"])
    assert results.iloc[3]["level"] == "info"


def test_errors_file_holds_failing_rows_with_row_numbers_and_input_columns():
    errors = errors_tables(_report())
    assert set(errors) == {"users"}
    table = errors["users"]
    assert list(table.columns) == [
        "source_file", "source_row", "user_principal_name", "first_name", "password", "error",
    ]  # fmt: skip
    assert table["source_row"].tolist() == [3, 4]
    assert table["user_principal_name"].tolist() == ["b@x", "c@x.com"]


def test_errors_file_explains_with_the_worst_messages_and_blanks_passwords():
    table = errors_tables(_report())["users"]
    assert table["error"].tolist() == [
        "user_principal_name has no domain",
        "skipped: depends on row 3",
    ]
    assert table["password"].isna().all()


def test_records_errors_keep_their_extra_columns():
    records = pd.DataFrame(
        {
            "source_file": ["r.csv"], "source_sheet": pd.Series([None], dtype="str"),
            "source_row": pd.array([2], dtype="Int64"), "table": ["account"],
            "record_id": ["1"], "owner": ["x"], "environment": [None], "Revenue": ["10"],
            "key": ["|account|1"], "outcome": ["failed"],
        }
    )  # fmt: skip
    report = RunReport("plan", 4, frames={"records": records},
                       columns={"records": ["table", "record_id", "owner"]})  # fmt: skip
    table = errors_tables(report)["records"]
    assert list(table.columns) == [
        "source_file", "source_row", "table", "record_id", "owner", "Revenue", "error",
    ]  # fmt: skip


def test_counts_list_changes_then_outcomes():
    changes = pd.DataFrame(
        {
            "entity": ["user", "user", "license"],
            "change": ["create_user", "create_user", "assign_license"],
        }
    )
    listed = counts(_report(changes=changes))
    assert {"entity": "user", "change": "create_user", "count": 2} in listed
    assert {"entity": "license", "change": "assign_license", "count": 1} in listed
    assert {"entity": "user", "outcome": "invalid", "count": 1} in listed
    assert listed.index({"entity": "license", "change": "assign_license", "count": 1}) < 2


def test_results_join_stays_right_when_problems_come_out_of_row_order():
    rows = 20_000
    users = pd.DataFrame(
        {
            "source_file": ["u.csv"] * rows,
            "source_sheet": pd.Series([None] * rows, dtype="str"),
            "source_row": pd.array(range(2, rows + 2), dtype="Int64"),
            "key": [f"u{i}@x.com" for i in range(rows)],
            "outcome": ["invalid"] * rows,
        }
    )
    problems = Problems()
    problems.add_rows(users, entity="user", rule="a", level="warning", message="w")
    problems.add_rows(users.iloc[::-2], entity="user", rule="b", level="error", message="e")
    results = results_table(RunReport("validate", 4, frames={"users": users}, problems=problems))
    assert results["level"].value_counts().to_dict() == {"warning": rows // 2, "error": rows // 2}
    assert results.iloc[1]["message"] == "w; e"
    assert results.iloc[0]["message"] == "w"


def test_results_built_in_chunks_match_the_whole_table(monkeypatch):
    from userbatch.reports import tables

    whole = results_table(_report())
    monkeypatch.setattr(tables, "CHUNK_ROWS", 1)
    pd.testing.assert_frame_equal(results_table(_report()), whole)


def test_a_password_field_is_dropped_from_any_chunk_of_the_change_log(monkeypatch):
    from userbatch.reports import tables

    monkeypatch.setattr(tables, "CHUNK_ROWS", 2)
    after = ['{"a": 1}'] * 5 + ['{"a": 2, "password": "Pw-1"}']
    changes = pd.DataFrame({"entity": ["user"] * 6, "change": ["update_user"] * 6,
                            "before": [None] * 6, "after": after})  # fmt: skip
    table = changes_table(_report(changes=changes))
    assert table["after"].tolist() == ['{"a": 1}'] * 5 + ['{"a": 2}']
    assert table["before"].isna().all()


def test_counts_sort_by_name_whatever_the_category_order():
    changes = pd.DataFrame({"entity": ["user", "license"], "change": ["b", "a"]})
    coded = changes.astype({"entity": pd.CategoricalDtype(["user", "license"]),
                            "change": pd.CategoricalDtype(["b", "a", "unused"])})  # fmt: skip
    assert counts(_report(changes=coded)) == counts(_report(changes=changes))
    assert counts(_report(changes=coded))[0] == {"entity": "license", "change": "a", "count": 1}
