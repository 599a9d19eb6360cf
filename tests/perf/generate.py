"""Generate a coherent synthetic tenant: a snapshot and a batch of inputs against it.

    python tests/perf/generate.py --users 1000000 --existing 500000 --out /tmp/tenant --seed 7

writes ``OUT/snapshot/`` (SPEC §3 CSVs: environments, skus, domains, users, licenses, groups,
memberships, security_roles, roles, records), ``OUT/inputs/`` (users, licenses, memberships,
roles, records CSVs, SPEC §2) and ``OUT/manifest.json`` (the row counts and the outcomes a
run must show: users created, stubs created, deliberately broken rows). Deterministic from
``--seed``; vectorized with numpy and pyarrow, so a million users write in seconds.

The tenant: environment ``sales`` (dynamics365, group SG-Sales) and ``apps`` (powerapps,
SG-Apps); every person belongs to one of them. Full names are unique by construction (a
first name and a surname built from the person's number), so records owned by a full name
match one user. Inputs: about ``users/5`` rows update existing users, the rest create new
ones; licenses, memberships and roles name the input's users, and the roles only users
that end up enabled (R4: licensed, usage location, direct member of the group). A small
share of rows is broken on purpose so the reports have content: users with a too-long job
title (invalid), an unverified domain (fails) or no usage location (their license fails,
R15), and extra rows with an unknown SKU, group or role, or no record_id.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from tests.perf.generate_users import CITIES, DEPARTMENTS, FIRST, JOBS, STREETS  # noqa: E402
from userbatch.state.model import TENANT_USER_COLUMNS  # noqa: E402
from userbatch.vocabulary import USER_COLUMNS  # noqa: E402

DOMAIN = "contoso.com"
MAIL_DOMAIN = "mail.contoso.com"  # alternate emails differ from UPNs: owners match by email too
UNVERIFIED_DOMAIN = "fabrikam.example"
SALES, APPS = 0, 1
ENVIRONMENTS = (  # name, kind, security group, the role its users get
    ("sales", "dynamics365", "SG-Sales", "Salesperson"),
    ("apps", "powerapps", "SG-Apps", "Basic User"),
)
# Per environment, the SKU order of a user's 1st, 2nd, … license row.
SKUS = {
    "DYN365_ENTERPRISE_SALES": "yes",
    "POWERAPPS_PER_USER": "yes",
    "O365_E3": "no",
    "POWER_AUTOMATE_PER_USER": "yes",
}
SKU_ORDER = (
    ("DYN365_ENTERPRISE_SALES", "O365_E3", "POWERAPPS_PER_USER", "POWER_AUTOMATE_PER_USER"),
    ("POWERAPPS_PER_USER", "O365_E3", "POWER_AUTOMATE_PER_USER", "DYN365_ENTERPRISE_SALES"),
)
REGIONS = ("EMEA", "AMER", "APAC", "LATAM", "ANZ")
OTHER_GROUPS = tuple(f"{d.replace(' ', '')}-{r}" for d in DEPARTMENTS for r in REGIONS)
NESTED_GROUP = "Sales-EMEA"  # a member of SG-Sales: its members alone are not enabled (R5)
RECORD_TABLES = (("account", "contact", "opportunity"), ("cr6f_asset", "cr6f_workorder"))
ADMINS = ("Global admin", "Power Platform admin", "Dynamics 365 admin")  # persons 0, 1, 2

# Surnames are three consonant-vowel syllables read off the person's number: unique and
# all of one length, so first name + surname is a bijection of the number.
SYLLABLES = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
SCRAMBLE = 7919  # a prime, coprime with len(SYLLABLES) ** 3
LONG_JOB_TITLE = "Senior " * 12 + "Engineer"  # > 64 characters: invalid
BROKEN_USER_KINDS = ("long_job_title", "unverified_domain", "no_usage_location")
LONG_TITLE, UNVERIFIED, NO_LOCATION = range(len(BROKEN_USER_KINDS))


@dataclass
class Options:
    users: int
    existing: int
    seed: int = 0
    licenses_ratio: float = 1.0
    memberships_ratio: float = 2.0
    roles_ratio: float = 0.5
    records_ratio: float = 0.2
    broken_share: float = 0.001


# ----------------------------------------------------------------- small array helpers
def _strings(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def _take(values, idx: np.ndarray) -> pa.Array:
    return _strings(values).take(pa.array(idx))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _number(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(values).cast(pa.string()), width, "0")


def _where(mask: np.ndarray, then, otherwise) -> pa.Array:
    return pc.if_else(pa.array(mask), then, otherwise)


def _null(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _shuffle_in(base: int, extra: int, rng: np.random.Generator) -> np.ndarray:
    """An order placing ``extra`` rows at random places among ``base`` rows kept in order."""
    where = np.concatenate([np.arange(base, dtype=float), rng.uniform(0, max(base, 1), extra)])
    return np.argsort(where, kind="stable")


def _broken_count(rows: int, share: float) -> int:
    return max(1, round(rows * share)) if rows >= 10 and share > 0 else 0


# ----------------------------------------------------------------------------- people
@dataclass
class People:
    """Every person, existing or new, indexed by number; arrays of length ``total``."""

    first: pa.Array
    last: pa.Array
    upn: pa.Array
    email: pa.Array
    env: np.ndarray  # SALES or APPS
    city: np.ndarray  # index into CITIES
    group: np.ndarray  # index into OTHER_GROUPS: the person's first other group

    @property
    def full_name(self) -> pa.Array:
        return _join(self.first, self.last, sep=" ")


def make_people(total: int, rng: np.random.Generator) -> People:
    idx = np.arange(total)
    first_idx, number = idx % len(FIRST), idx // len(FIRST)
    space = len(SYLLABLES) ** 3
    if total and number.max() >= space:
        raise ValueError(f"at most {len(FIRST) * space} people")
    number = (number * SCRAMBLE + 1) % space  # a bijection: neighbours get unlike surnames
    parts = [(number // len(SYLLABLES) ** p) % len(SYLLABLES) for p in range(3)]
    last = _join(
        *[_take([s.title() if p == 0 else s for s in SYLLABLES], parts[p]) for p in range(3)]
    )
    local = _join(_take([_ascii(f) for f in FIRST], first_idx), pc.utf8_lower(last), sep=".")
    return People(
        first=_take(FIRST, first_idx),
        last=last,
        upn=_join(local, pa.scalar(DOMAIN), sep="@"),
        email=_join(local, pa.scalar(MAIL_DOMAIN), sep="@"),
        env=(rng.random(total) < 0.4).astype(np.int8),
        city=rng.integers(0, len(CITIES), total),
        group=rng.integers(0, len(OTHER_GROUPS), total),
    )


def user_rows(people: People, who: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Full profiles (every USER_COLUMNS column) for the persons ``who``."""
    n = len(who)
    pick = pa.array(who)
    first, last, upn = people.first.take(pick), people.last.take(pick), people.upn.take(pick)
    city = [_take([c[i] for c in CITIES], people.city[who]) for i in range(5)]
    phone = _join(pa.scalar("+1 425 555 "), _number(who % 10_000, 4))
    house = pa.array(rng.integers(1, 999, n)).cast(pa.string())
    sparse = rng.random((4, n))
    return {
        "user_principal_name": upn,
        "first_name": first,
        "last_name": last,
        "display_name": _join(first, last, sep=" "),
        "job_title": _take(JOBS, rng.integers(0, len(JOBS), n)),
        "department": _take(DEPARTMENTS, rng.integers(0, len(DEPARTMENTS), n)),
        "office": _where(sparse[0] < 0.5, _join(pa.scalar("Building"), house, sep=" "), None),
        "office_phone": phone,
        "mobile_phone": _where(sparse[1] < 0.3, phone, None),
        "fax": _null(n),
        "email": people.email.take(pick),
        "street_address": _join(house, _take(STREETS, rng.integers(0, len(STREETS), n)), sep=" "),
        "city": city[0],
        "state_or_province": city[1],
        "postal_code": city[2],
        "country_or_region": city[3],
        "usage_location": city[4],
        "sign_in_allowed": _where(sparse[2] < 0.5, pa.scalar("Yes"), None),
        "admin_role": _null(n),
        "access_mode": _where(sparse[3] < 0.1, pa.scalar("read-write"), None),
        "user_type": _null(n),
        "application_id": _null(n),
        "password": _null(n),
        "action": _null(n),
    }


# --------------------------------------------------------------------------- snapshot
@dataclass
class Existing:
    """The snapshot's facts per existing person (arrays of length ``existing``)."""

    has_location: np.ndarray
    sign_in: np.ndarray
    in_group: np.ndarray
    licensed: np.ndarray


def snapshot_tables(people: People, opts: Options, rng: np.random.Generator):
    m = opts.existing
    who = np.arange(m)
    facts = Existing(
        has_location=rng.random(m) < 0.95,
        sign_in=rng.random(m) < 0.98,
        in_group=rng.random(m) < 0.9,
        licensed=np.zeros(m, dtype=bool),
    )
    facts.licensed = facts.has_location & (rng.random(m) < 0.92)
    users = user_rows(people, who, rng)
    users["usage_location"] = _where(facts.has_location, users["usage_location"], None)
    users["sign_in_allowed"] = _where(facts.sign_in, pa.scalar("yes"), pa.scalar("no"))
    admins = np.full(m, None, dtype=object)
    admins[: min(m, len(ADMINS))] = ADMINS[: min(m, len(ADMINS))]
    users["admin_role"] = pa.array(admins, type=pa.string())
    env = people.env[:m]
    enabled = facts.in_group & facts.licensed & facts.sign_in
    with_role = np.flatnonzero(enabled & (rng.random(m) < 0.8))
    tables = {
        "environments": pa.table(
            {
                "name": _strings(e[0] for e in ENVIRONMENTS),
                "kind": _strings(e[1] for e in ENVIRONMENTS),
                "security_group": _strings(e[2] for e in ENVIRONMENTS),
                "allow_role_assignment_on_disabled_users": _strings(["no", "no"]),
            }
        ),
        "domains": pa.table({"domain": _strings([DOMAIN, "contoso.onmicrosoft.com"])}),
        "groups": pa.table({"name": _strings([e[2] for e in ENVIRONMENTS] + list(OTHER_GROUPS))}),
        "security_roles": pa.table(
            {"environment": _strings(["sales"]), "role": _strings(["Sales Manager"])}
        ),
        "users": pa.table({c: users[c] for c in TENANT_USER_COLUMNS}),
        "licenses": pa.table(
            {
                "user_principal_name": people.upn.take(pa.array(np.flatnonzero(facts.licensed))),
                "sku": _take([o[0] for o in SKU_ORDER], env[facts.licensed]),
            }
        ),
        "memberships": _snapshot_memberships(people, facts, m),
        "roles": pa.table(
            {
                "user_principal_name": people.upn.take(pa.array(with_role)),
                "role": _take([e[3] for e in ENVIRONMENTS], env[with_role]),
                "environment": _take([e[0] for e in ENVIRONMENTS], env[with_role]),
            }
        ),
        "records": _snapshot_records(people, facts, m, rng),
    }
    return tables, facts


def _snapshot_memberships(people: People, facts: Existing, m: int) -> pa.Table:
    grouped = np.flatnonzero(facts.in_group)
    security = _take([e[2] for e in ENVIRONMENTS], people.env[grouped])
    other = _take(OTHER_GROUPS, people.group[:m])
    return pa.table(
        {
            "group": pa.concat_arrays([_strings(["SG-Sales"]), security, other]),
            "member": pa.concat_arrays(
                [_strings([NESTED_GROUP]), people.upn.take(pa.array(grouped)), people.upn[:m]]
            ),
        }
    )


def _snapshot_records(people: People, facts: Existing, m: int, rng) -> pa.Table:
    owners = np.flatnonzero(facts.in_group)
    count = min(len(owners), m // 10)
    owner = np.sort(rng.choice(owners, count, replace=False)) if count else owners[:0]
    env = people.env[owner]
    return pa.table(
        {
            "environment": _take([e[0] for e in ENVIRONMENTS], env),
            "table": _record_tables(env, rng),
            "record_id": _join(pa.scalar("OLD"), _number(np.arange(count), 7), sep="-"),
            "owner": people.upn.take(pa.array(owner)),
        }
    )


def _record_tables(env: np.ndarray, rng) -> pa.Array:
    sales = _take(RECORD_TABLES[0], rng.integers(0, len(RECORD_TABLES[0]), len(env)))
    apps = _take(RECORD_TABLES[1], rng.integers(0, len(RECORD_TABLES[1]), len(env)))
    return _where(env == SALES, sales, apps)


# ----------------------------------------------------------------------------- inputs
@dataclass
class Batch:
    """The input users rows: who each row is, and what was done to it."""

    who: np.ndarray  # person number per users row, in input order
    update: np.ndarray  # the row updates an existing user
    broken: np.ndarray  # index into BROKEN_USER_KINDS, -1 when the row is fine


def choose_batch(opts: Options, rng: np.random.Generator) -> Batch:
    updates = min(opts.users // 5, opts.existing)
    new = opts.users - updates
    updated = np.sort(rng.choice(opts.existing, updates, replace=False)) if updates else []
    who = np.concatenate([np.asarray(updated, dtype=np.int64), opts.existing + np.arange(new)])
    who = who[rng.permutation(len(who))]
    update = who < opts.existing
    broken = np.full(len(who), -1, dtype=np.int8)
    kinds = len(BROKEN_USER_KINDS)  # at least one of each, else the share in all
    count = max(kinds, _broken_count(new, opts.broken_share)) if new >= 10 else 0
    spoiled = rng.choice(np.flatnonzero(~update), min(count, new), replace=False)
    broken[np.sort(spoiled)] = np.arange(len(spoiled)) % len(BROKEN_USER_KINDS)
    return Batch(who, update, broken)


def input_users(people: People, batch: Batch, rng: np.random.Generator) -> pa.Table:
    columns = user_rows(people, batch.who, rng)
    # Updates name the user and change a few fields; a blank cell never changes a value.
    keep = {"user_principal_name", "job_title", "department", "usage_location"}
    for c in USER_COLUMNS:
        if c not in keep:
            columns[c] = _where(batch.update, None, columns[c])
    kind = batch.broken
    columns["job_title"] = _where(
        kind == LONG_TITLE, pa.scalar(LONG_JOB_TITLE), columns["job_title"]
    )
    local = pc.utf8_slice_codeunits(columns["user_principal_name"], 0, -len(DOMAIN) - 1)
    elsewhere = _join(local, pa.scalar(UNVERIFIED_DOMAIN), sep="@")
    columns["user_principal_name"] = _where(
        kind == UNVERIFIED, elsewhere, columns["user_principal_name"]
    )
    columns["usage_location"] = _where(kind == NO_LOCATION, None, columns["usage_location"])
    return pa.table(columns)


def _rounds(choices: list[tuple[np.ndarray, pa.Array]], target: int) -> tuple[np.ndarray, pa.Array]:
    """Concatenate (users-row positions, values) rounds and keep the first ``target`` rows."""
    rows = np.concatenate([c[0] for c in choices])[:target]
    values = pa.concat_arrays([c[1] for c in choices])[:target]
    return rows, values


def _with_broken(table: pa.Table, extra: pa.Table, rng) -> pa.Table:
    order = _shuffle_in(table.num_rows, extra.num_rows, rng)
    return pa.concat_tables([table, extra]).take(pa.array(order))


def input_licenses(people, batch: Batch, upns: pa.Array, opts: Options, rng):
    n = len(batch.who)
    target = round(opts.licenses_ratio * n)
    env = people.env[batch.who]
    rounds = [
        (np.arange(n), _take([o[r] for o in SKU_ORDER], env))
        for r in range(min(len(SKUS), math.ceil(opts.licenses_ratio)))
    ]
    rows, sku = _rounds(rounds, target)
    table = pa.table({"user_principal_name": upns.take(pa.array(rows)), "sku": sku})
    extra = _broken_count(target, opts.broken_share)
    fine = np.flatnonzero(batch.broken < 0)
    bad = pa.table(
        {
            "user_principal_name": upns.take(pa.array(rng.choice(fine, extra))),
            "sku": _strings(["UNKNOWN_SKU"] * extra),
        }
    )
    return _with_broken(table, bad, rng), rows


def input_memberships(people, batch: Batch, upns: pa.Array, opts: Options, rng):
    n = len(batch.who)
    target = round(opts.memberships_ratio * n)
    env = people.env[batch.who]
    grouped = np.flatnonzero(rng.random(n) < 0.95)
    rounds = [(grouped, _take([e[2] for e in ENVIRONMENTS], env[grouped]))]
    home = people.group[batch.who]
    for r in range(1, len(OTHER_GROUPS)):
        if sum(len(c[0]) for c in rounds) >= target:
            break
        rounds.append((np.arange(n), _take(OTHER_GROUPS, (home + r - 1) % len(OTHER_GROUPS))))
    rows, group = _rounds(rounds, target)
    table = pa.table({"group": group, "member": upns.take(pa.array(rows))})
    extra = _broken_count(target, opts.broken_share)
    bad = pa.table(
        {
            "group": _strings(["No-Such-Group"] * extra),
            "member": upns.take(pa.array(rng.choice(n, extra))),
        }
    )
    in_group = np.zeros(n, dtype=bool)
    in_group[rows[: len(grouped)]] = True
    return _with_broken(table, bad, rng), in_group


def input_roles(people, batch, upns, enabled: np.ndarray, opts: Options, rng) -> pa.Table:
    """Roles only for users that end up enabled, so R11 passes (plus a few unknown roles)."""
    n = len(batch.who)
    eligible = np.flatnonzero(enabled)
    share = min(1.0, opts.roles_ratio * n / max(len(eligible), 1))
    rows = eligible[rng.random(len(eligible)) < share]
    env = people.env[batch.who[rows]]
    table = pa.table(
        {
            "user_principal_name": upns.take(pa.array(rows)),
            "role": _take([e[3] for e in ENVIRONMENTS], env),
            "environment": _take([e[0] for e in ENVIRONMENTS], env),
        }
    )
    extra = _broken_count(len(rows), opts.broken_share)
    pick = rng.choice(eligible, extra) if len(eligible) else np.zeros(0, dtype=np.int64)
    bad = pa.table(
        {
            "user_principal_name": upns.take(pa.array(pick)),
            "role": _strings(["Chief Wizard"] * len(pick)),
            "environment": _take([e[0] for e in ENVIRONMENTS], people.env[batch.who[pick]]),
        }
    )
    return _with_broken(table, bad, rng)


def input_records(people, owners: np.ndarray, opts: Options, rng) -> tuple[pa.Table, int]:
    """Records owned by a UPN, an email or a full name, and some by unknown owners (R12)."""
    target = round(opts.records_ratio * opts.users)
    unknown = round(target * 0.05) if owners.size else target
    known = target - unknown
    owner = rng.choice(owners, known) if known else owners[:0]
    form = rng.random(known)
    by = [people.upn, people.email, people.full_name]
    names = [a.take(pa.array(owner)) for a in by]
    written = _where(form < 0.55, names[0], _where(form < 0.8, names[1], names[2]))
    stubs, stub_env, stub_owner = _unknown_owners(unknown, rng)
    env = np.concatenate([people.env[owner], stub_env])
    order = rng.permutation(target)
    env = env[order]
    table = pa.table(
        {
            "table": _record_tables(env, rng),
            "record_id": _join(pa.scalar("REC"), _number(np.arange(target), 7), sep="-"),
            "owner": pa.concat_arrays([written, stub_owner]).take(pa.array(order)),
            "environment": _take([e[0] for e in ENVIRONMENTS], env),
            "name": _join(pa.scalar("Imported"), _number(order, 7), sep=" "),
        }
    )
    extra = _broken_count(target, opts.broken_share)
    bad = table.slice(0, min(extra, target))
    bad = bad.set_column(1, "record_id", _null(bad.num_rows))
    return _with_broken(table, bad, rng), stubs


def _unknown_owners(count: int, rng) -> tuple[int, np.ndarray, pa.Array]:
    """Owners matching nobody; a few written upper-case (still one stub, case-folded)."""
    pool = max(1, count // 3)
    k = rng.integers(0, pool, count)
    env = (k % 4 == 3).astype(np.int8)  # a quarter of them in apps
    number = _number(k, 5)
    as_name = _join(pa.scalar("Legacy User"), number, sep=" ")
    as_email = _join(pa.scalar("legacy.user"), number, pa.scalar("@retired.example"))
    name = _where(k % 2 == 0, as_name, as_email)
    shout = rng.random(count) < 0.1
    name = _where(shout, pc.utf8_upper(name), name)
    return len(np.unique(k)), env, name


# ------------------------------------------------------------------------------ write
def generate(
    out_dir,
    users: int,
    existing: int,
    seed: int = 0,
    *,
    licenses_ratio: float = 1.0,
    memberships_ratio: float = 2.0,
    roles_ratio: float = 0.5,
    records_ratio: float = 0.2,
    broken_share: float = 0.001,
) -> dict:
    """Write the tenant under ``out_dir``; return the manifest (also written as JSON)."""
    opts = Options(users, existing, seed, licenses_ratio, memberships_ratio, roles_ratio,
                   records_ratio, broken_share)  # fmt: skip
    rng = np.random.default_rng(seed)
    batch = choose_batch(opts, rng)
    people = make_people(existing + int((~batch.update).sum()), rng)
    snapshot, facts = snapshot_tables(people, opts, rng)
    users_table = input_users(people, batch, rng)
    upns = users_table["user_principal_name"].combine_chunks()
    licenses, licensed_rows = input_licenses(people, batch, upns, opts, rng)
    memberships, in_group = input_memberships(people, batch, upns, opts, rng)
    fine = batch.broken < 0
    signs_in = np.ones(len(batch.who), dtype=bool)
    signs_in[batch.update] = facts.sign_in[batch.who[batch.update]]
    # R4: licensed with the access-granting SKU of the user's environment (the 1st license
    # row), a usage location (every fine row has one), direct member, sign-in allowed.
    first_license = np.zeros(len(batch.who), dtype=bool)
    first_license[licensed_rows[: len(batch.who)]] = True
    enabled = fine & first_license & in_group & signs_in
    roles = input_roles(people, batch, upns, enabled, opts, rng)
    owners = _owners(batch, facts, in_group, existing)
    records, stubs = input_records(people, owners, opts, rng)
    inputs = {"users": users_table, "licenses": licenses, "memberships": memberships,
              "roles": roles, "records": records}  # fmt: skip
    snapshot["skus"] = _skus(snapshot["licenses"], licenses)
    out = Path(out_dir)
    _write_all(out / "snapshot", snapshot)
    _write_all(out / "inputs", inputs)
    manifest = _manifest(opts, batch, snapshot, inputs, stubs)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _owners(batch: Batch, facts: Existing, in_group: np.ndarray, existing: int) -> np.ndarray:
    """Persons that are environment users once the batch applies: direct group members."""
    before = np.flatnonzero(facts.in_group)
    fine = (batch.broken < 0) | (batch.broken == NO_LOCATION)  # created all the same
    added = batch.who[in_group & fine]
    return np.union1d(before, added)


def _skus(snapshot_licenses: pa.Table, licenses: pa.Table) -> pa.Table:
    """Enough units for every assignment plus a little headroom (R14 never bites)."""
    both = pa.concat_arrays(
        [snapshot_licenses["sku"].combine_chunks(), licenses["sku"].combine_chunks()]
    )
    counts = {r["values"]: r["counts"] for r in pc.value_counts(both).to_pylist()}
    used = [counts.get(s, 0) for s in SKUS]
    return pa.table(
        {
            "sku": _strings(SKUS),
            "total_units": pa.array([u + max(10, u // 50) for u in used], type=pa.int64()),
            "grants_access": _strings(SKUS.values()),
        }
    )


def _write_all(folder: Path, tables: dict[str, pa.Table]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # No cell holds a comma or a quote (pyarrow refuses to write one unquoted).
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    for name, table in tables.items():
        with open(folder / f"{name}.csv", "wb") as out:
            out.write((",".join(table.column_names) + "\n").encode())
            pacsv.write_csv(table, out, options)


def _manifest(opts: Options, batch: Batch, snapshot, inputs, stubs: int) -> dict:
    broken = {k: int((batch.broken == i).sum()) for i, k in enumerate(BROKEN_USER_KINDS)}
    new = int((~batch.update).sum())
    return {
        "seed": opts.seed,
        "users": opts.users,
        "existing": opts.existing,
        "new_users": new,
        "updated_users": int(batch.update.sum()),
        "snapshot_rows": {k: t.num_rows for k, t in snapshot.items()},
        "input_rows": {k: t.num_rows for k, t in inputs.items()},
        "broken_users": broken,
        "broken_rows": {
            "licenses": "sku UNKNOWN_SKU (unknown_sku)",
            "memberships": "group No-Such-Group (unknown_group)",
            "roles": "role Chief Wizard (unknown_role)",
            "records": "no record_id (invalid)",
        },
        # the invalid and the unverified-domain rows create nobody
        "expected_created_users": new - broken["long_job_title"] - broken["unverified_domain"],
        "expected_stubs": stubs,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, required=True, help="users input rows")
    parser.add_argument("--existing", type=int, default=None, help="tenant users (users/2)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--licenses-ratio", type=float, default=1.0)
    parser.add_argument("--memberships-ratio", type=float, default=2.0)
    parser.add_argument("--roles-ratio", type=float, default=0.5)
    parser.add_argument("--records-ratio", type=float, default=0.2)
    parser.add_argument("--broken-share", type=float, default=0.001)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    existing = args.users // 2 if args.existing is None else args.existing
    manifest = generate(
        args.out, args.users, existing, args.seed,
        licenses_ratio=args.licenses_ratio, memberships_ratio=args.memberships_ratio,
        roles_ratio=args.roles_ratio, records_ratio=args.records_ratio,
        broken_share=args.broken_share,
    )  # fmt: skip
    print(json.dumps(manifest["input_rows"]), f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
