"""Generate a realistic N-row users CSV (SPEC §2 canonical headers), deterministic from a seed.

Vectorized with numpy and pyarrow, so a million rows write in a few seconds:

    python tests/perf/generate_users.py users.csv --rows 1000000 --seed 7 --invalid 5

``--invalid N`` spoils N rows in known ways (a too-long job title, an unknown usage
location, an email without a domain, a duplicate UPN, an unknown access mode, cycling),
so a benchmark validates "a handful of invalid rows" as the acceptance criterion asks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from userbatch.vocabulary import USER_COLUMNS

FIRST = (
    "Adele Alex Allan Ana Beatriz Ben Carla Chen Chris Dana Diego Elena Emily Fatima Grady "
    "Hana Henrietta Isaiah Jakob Joni Kenji Lee Lidia Lynne Megan Miriam Nestor Noah Olga "
    "Patti Pradeep Priya Quinn Raul Sakura Sam Sofia Tomás Uma Victor Wei Yuki Zoe"
).split()
LAST = (
    "Adams Bakker Chen Costa Dubois Eriksen Fischer García Gonzalez Hansen Ivanova Jensen "
    "Kowalski Lambert Li Martin Müller Nakamura Nguyen O'Brien Patel Quispe Rossi Schmidt "
    "Silva Smith Tanaka Vance Wagner Wilber Yamamoto Zhang"
).split()
JOBS = (
    "Sales Representative|Account Manager|Field Engineer|Customer Service Agent|"
    "Marketing Specialist|Finance Analyst|HR Generalist|Developer|Team Lead|Director"
).split("|")
DEPARTMENTS = "Sales|Marketing|Finance|Human Resources|Engineering|Support|Operations".split("|")
CITIES = (
    ("Redmond", "WA", "98052", "United States", "US"),
    ("Toronto", "ON", "M5V 3L9", "Canada", "CA"),
    ("London", None, "EC1A 1BB", "United Kingdom", "GB"),
    ("München", "Bayern", "80331", "Germany", "DE"),
    ("Lyon", None, "69002", "France", "FR"),
    ("Osaka", None, "530-0001", "Japan", "JP"),
    ("São Paulo", "SP", "01310-100", "Brazil", "BR"),
    ("Sydney", "NSW", "2000", "Australia", "AU"),
)
STREETS = "Main Street|Oak Avenue|Station Road|Harbour Way|Market Square|Lake Drive".split("|")
DOMAIN = "contoso.com"


def _pick(rng: np.random.Generator, values, n: int) -> pa.Array:
    return pa.array(values, type=pa.string()).take(rng.integers(0, len(values), n))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _sparse(rng: np.random.Generator, array: pa.Array, share: float) -> pa.Array:
    """Keep ``share`` of the cells, blank the rest (most optional columns are mostly empty)."""
    return pc.if_else(pa.array(rng.random(len(array)) < share), array, None)


def generate_users(rows: int, seed: int = 0, invalid: int = 0) -> pa.Table:
    """A users table with every canonical column; ``invalid`` rows are spoiled on purpose."""
    rng = np.random.default_rng(seed)
    first, last = _pick(rng, FIRST, rows), _pick(rng, LAST, rows)
    number = pa.array(np.arange(1, rows + 1)).cast(pa.string())
    # Entra allows only ASCII letters in a UPN's name: Tomás Müller is tomas.muller.
    ascii_names = pc.replace_substring_regex(
        pc.utf8_normalize(_join(first, last, number, sep="."), "NFKD"), r"[^\x00-\x7f]", ""
    )
    local = pc.utf8_lower(ascii_names)
    upn = _join(local, pa.array([DOMAIN] * rows), sep="@")
    city_idx = rng.integers(0, len(CITIES), rows)
    city_col = [pa.array([c[i] for c in CITIES], type=pa.string()).take(city_idx) for i in range(5)]
    house = pa.array(rng.integers(1, 999, rows)).cast(pa.string())
    phone = _join(pa.array(["+1 425 555 "] * rows), pc.utf8_lpad(number, 4, "0"))
    columns = {
        "user_principal_name": upn,
        "first_name": first,
        "last_name": last,
        "display_name": _join(first, last, sep=" "),
        "job_title": _pick(rng, JOBS, rows),
        "department": _pick(rng, DEPARTMENTS, rows),
        "office": _sparse(rng, _join(pa.array(["Building "] * rows), house), 0.5),
        "office_phone": phone,
        "mobile_phone": _sparse(rng, phone, 0.3),
        "fax": _sparse(rng, phone, 0.02),
        "email": upn,
        "street_address": _join(house, _pick(rng, STREETS, rows), sep=" "),
        "city": city_col[0],
        "state_or_province": city_col[1],
        "postal_code": city_col[2],
        "country_or_region": city_col[3],
        "usage_location": city_col[4],
        "sign_in_allowed": _sparse(rng, _pick(rng, ("Yes", "yes", "TRUE", "No"), rows), 0.4),
        "admin_role": _sparse(rng, _pick(rng, ("Global admin", "Dynamics 365 admin"), rows), 0.001),
        "access_mode": _sparse(rng, _pick(rng, ("read-write", "Read Write"), rows), 0.1),
        "user_type": _sparse(rng, _pick(rng, ("interactive", "Interactive"), rows), 0.1),
        "application_id": pa.nulls(rows, pa.string()),
        "password": pa.nulls(rows, pa.string()),
        "action": _sparse(rng, _pick(rng, ("upsert", "Upsert"), rows), 0.2),
    }
    assert tuple(columns) == USER_COLUMNS
    table = pa.table(columns)
    return _spoil(table, rng, invalid) if invalid else table


SPOILS = (  # (column, replacement); the duplicate UPN is filled in from row 0
    ("job_title", "Senior " * 12 + "Engineer"),
    ("usage_location", "XX"),
    ("email", "no-domain"),
    ("user_principal_name", None),
    ("access_mode", "sometimes"),
)


def _spoil(table: pa.Table, rng: np.random.Generator, invalid: int) -> pa.Table:
    """Spoil ``invalid`` distinct rows (never row 0, so a duplicate has an original)."""
    rows = rng.choice(
        np.arange(1, table.num_rows), size=min(invalid, table.num_rows - 1), replace=False
    )
    rows.sort()
    for n, (column, value) in enumerate(SPOILS):
        picked = rows[n :: len(SPOILS)]
        if not len(picked):
            continue
        if value is None:
            value = table["user_principal_name"][0].as_py().upper()
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[picked] = True
        spoiled = pc.if_else(pa.array(mask), pa.scalar(value), table[column])
        table = table.set_column(table.schema.get_field_index(column), column, spoiled)
    return table


def write_users_csv(path: Path, rows: int, seed: int = 0, invalid: int = 0) -> Path:
    options = pacsv.WriteOptions(quoting_style="none")  # no cell holds a comma or a quote
    pacsv.write_csv(generate_users(rows, seed, invalid), str(path), options)
    return Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--invalid", type=int, default=0)
    args = parser.parse_args()
    write_users_csv(args.path, args.rows, args.seed, args.invalid)


if __name__ == "__main__":
    main()
