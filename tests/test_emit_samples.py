"""Emit (issue 6): applying the samples and emitting gives files whose rows match the
tenant-level rows of changes.csv and the record changes, one for one."""

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from tests.test_emit_powershell import named, parse_script
from userbatch import jobs
from userbatch.emit import write_emit
from userbatch.emit.entra import file_slug
from userbatch.plan import PlanOptions

SAMPLES = Path(__file__).parent.parent / "samples"
SCRIPT_CHANGES = {"update_user", "assign_license", "remove_license", "add_member", "remove_member"}


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("samples")
    state = tmp / "state.db"
    jobs.run_init(state, snapshot=SAMPLES / "snapshot.xlsx")
    result = jobs.run_plan(
        [SAMPLES / "onboarding.xlsx"], state=state, options=PlanOptions(env="sales-prod"),
        report_dir=tmp / "reports", apply=True,
    )  # fmt: skip
    assert result.applied
    credentials = pd.read_csv(
        result.report_dir / "credentials.csv", dtype=str, keep_default_na=False
    )
    paths = write_emit(
        tmp / "emit", result.plan, credentials, report_dir=result.report_dir, chunk_rows=4
    )
    report = pd.read_csv(result.report_dir / "changes.csv", dtype=str, keep_default_na=False)
    return result, report, paths


def rows(path: Path, skip: int) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))[skip:]


def emitted_tenant_changes(paths: list[Path]) -> Counter:
    """(change, key) of every tenant-level change the files and the script carry."""
    found = Counter()
    for path in paths:
        name = path.name
        if name.startswith("01-entra-bulk-create-users-"):
            found.update(("create_user", r[1].lower()) for r in rows(path, 2))
        elif name == "04-entra-bulk-delete-users.csv":
            found.update(("delete_user", r[0].lower()) for r in rows(path, 2))
        elif name.startswith("02-entra-bulk-"):
            verb, slug = name.removeprefix("02-entra-bulk-").removesuffix(".csv").split("-members-")
            found.update((f"{verb}_member", f"{slug}|{r[0]}") for r in rows(path, 2))
        elif name == "userbatch-changes.ps1":
            for call in named(parse_script(path), "Invoke-Change"):
                change, key = call.positional
                if change in SCRIPT_CHANGES:
                    found[(change, key)] += 1
    return found


def test_emitted_files_carry_each_tenant_change_of_changes_csv_exactly_once(emitted):
    result, report, paths = emitted
    tenant = report[report["environment"].eq("")]
    assert set(tenant["change"]) == {
        "create_user", "update_user", "delete_user", "assign_license", "remove_license",
        "add_member", "remove_member",
    }  # the samples exercise every kind  # fmt: skip
    group, member = (
        tenant["key"].str.rsplit("|", n=1).str[0],
        tenant["key"].str.rsplit("|", n=1).str[1],
    )
    is_membership = tenant["entity"].eq("membership")
    # Member files are named for their group: compare memberships as (slug, member).
    keys = tenant["key"].where(~is_membership, file_slug(group) + "|" + member)
    expected = Counter(zip(tenant["change"], keys, strict=True))
    assert emitted_tenant_changes(paths) == expected
    created = [p for p in paths if p.name.startswith("01-entra-bulk-create-users-")]
    assert len(created) == -(-expected_count(tenant, "create_user") // 4)


def expected_count(frame: pd.DataFrame, change: str) -> int:
    return int(frame["change"].eq(change).sum())


def test_records_files_carry_each_record_change_with_its_resolved_owner(emitted):
    result, report, paths = emitted
    records = report[report["entity"].eq("record")]
    planned = result.plan.planned.records
    owner = planned.set_axis(
        planned["environment"] + "|" + planned["table"] + "|" + planned["record_id"]
    )["owner"]
    parts = records["key"].str.split("|", n=2, expand=True)
    for (environment, table), part in records.groupby([parts[0], parts[1]]):
        path = next(p for p in paths if p.name == f"records-{environment}-{table}.csv")
        body = rows(path, 0)
        header, data = body[0], body[1:]
        assert header[0] == "record_id" and header[-1] == "owner"
        got = {r[0]: r[-1] for r in data}
        ids = parts.loc[part.index, 2]
        assert len(data) == len(part)
        assert got == dict(zip(ids, part["key"].map(owner), strict=True))
    # Stubs included (R12): an owner matching no user is written as first written.
    files = [p for p in paths if p.name.startswith("records-")]
    data = b"".join(p.read_bytes() for p in files)
    assert b"Hannah Schmidt" in data and b"Rafael Ortega" in data
    assert data.count(b"\r\n") - len(files) == len(records)  # no other row
