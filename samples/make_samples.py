"""Write userbatch's sample files: a fictional company, Northwind Traders.

Run from anywhere with the project venv; it rewrites every file under samples/:

    /work/venv/bin/python samples/make_samples.py

The data are hand-written tables below, so the output is deterministic (the xlsx files
are byte-identical from run to run: fixed zip timestamps and document dates). After
writing, the script checks its own rows against SPEC §2's limits and enums (it cannot
run userbatch itself, which reads these files) and fails loudly when a "valid" row is
not, or when a "broken" row is broken in more or other ways than documented.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from userbatch import vocabulary as voc

HERE = Path(__file__).resolve().parent
DOMAIN = "northwind.example"  # the tenant's primary verified domain
ALT_DOMAIN = "nwtraders.example"  # second verified domain (mail aliases, logistics arm)
FIXED_TIME = datetime(2025, 1, 6, 9, 0, 0)  # document date written into the xlsx files

# Offices: office-number prefix, street, city, state, postal code, country, usage
# location, phone prefix (555-01xx in the US and 020 7946 0xxx in London are ranges
# reserved for fiction).
# fmt: off
OFFICES = {
    "SEA": ("SEA", "1200 Harbor Avenue SW", "Seattle", "WA", "98126", "United States", "US",
            "+1 206 555 0"),
    "MUC": ("MUC", "Leopoldstraße 112", "München", "Bayern", "80802", "Germany", "DE",
            "+49 89 5550 1"),
    "MAD": ("MAD", "Calle de Alcalá 221", "Madrid", "Comunidad de Madrid", "28028", "Spain",
            "ES", "+34 91 555 0"),
    "PAR": ("PAR", "48 rue de Rivoli", "Paris", "Île-de-France", "75004", "France", "FR",
            "+33 1 55 55 0"),
    "LON": ("LON", "27 Southwark Street", "London", "", "SE1 9HA", "United Kingdom", "GB",
            "+44 20 7946 0"),
}
# fmt: on

USER_SNAPSHOT_COLUMNS = [c for c in voc.USER_COLUMNS if c not in ("password", "action")]
USER_INPUT_COLUMNS = [c for c in voc.USER_COLUMNS if c != "password"]

# ---------------------------------------------------------------------------------------
# The tenant as it is today (snapshot). One row per person:
# upn local part, first, last, job title, department, office, extension (3 digits),
# mobile, email (None = the UPN), other columns.
# fmt: off
EXISTING = [
    ("grace.okafor", "Grace", "Okafor", "IT Director", "Information Technology", "SEA", "101",
     "+1 425 555 0181", None, {"admin_role": "Global admin", "access_mode": "administrative"}),
    ("daniel.whitaker", "Daniel", "Whitaker", "Power Platform Administrator",
     "Information Technology", "SEA", "103", "+1 425 555 0183", None,
     {"admin_role": "Power Platform admin", "access_mode": "administrative"}),
    ("priya.raman", "Priya", "Raman", "CRM Administrator", "Information Technology", "SEA",
     "105", "+1 425 555 0185", None, {"admin_role": "Dynamics 365 admin"}),
    ("svc-integration", "Integration", "Service", "Service account (ERP sync)",
     "Information Technology", "SEA", "", "", None,
     {"display_name": "Integration Service (non-interactive)",
      "access_mode": "non-interactive"}),
    ("app-erp-connector", "", "", "", "Information Technology", None, "", "", "",
     {"display_name": "ERP Connector (application user)", "user_type": "application",
      "application_id": "6f1c2b3a-9d4e-4f5a-8b7c-2e1d0a9f8c7b",
      "access_mode": "non-interactive"}),
    ("thomas.becker", "Thomas", "Becker", "Account Executive", "Sales", "MUC", "214",
     "+49 151 5550 2214", None, {"sign_in_allowed": "no"}),
    ("zoe.muller", "Zoë", "Müller", "Senior Account Executive", "Sales", "MUC", "210",
     "+49 151 5550 2210", f"zoe.mueller@{ALT_DOMAIN}", {}),
    ("jose.nunez", "José", "Núñez", "Sales Manager, Iberia", "Sales", "MAD", "310",
     "+34 612 555 310", None, {}),
    ("francois.lefevre", "François", "Lefèvre", "Account Executive", "Sales", "PAR", "410",
     "+33 6 55 55 04 10", None, {}),
    ("siobhan.obrien", "Siobhán", "O'Brien", "Inside Sales Representative", "Sales", "LON",
     "510", "+44 7700 900510", None, {}),
    ("bjorn.akesson", "Björn", "Åkesson", "Key Account Manager", "Sales", "MUC", "212",
     "+49 151 5550 2212", f"bjorn.akesson@{ALT_DOMAIN}", {}),
    ("meilin.chen", "Mei Lin", "Chen", "Vice President of Sales", "Sales", "SEA", "120",
     "+1 425 555 0120", None, {}),
    ("marcus.johnson", "Marcus", "Johnson", "Account Executive", "Sales", "SEA", "122",
     "+1 425 555 0122", None, {}),
    ("aisha.khan", "Aisha", "Khan", "Sales Operations Analyst", "Sales Operations", "SEA",
     "124", "+1 425 555 0124", None, {}),
    ("lucas.moreau", "Lucas", "Moreau", "Account Executive", "Sales", "PAR", "412",
     "+33 6 55 55 04 12", None, {}),
    ("emily.carter", "Emily", "Carter", "Senior Inside Sales Representative", "Sales", "SEA",
     "126", "+1 425 555 0126", None, {}),
    ("lukasz.wisniewski", "Łukasz", "Wiśniewski", "Account Executive", "Sales", "LON", "512",
     "+44 7700 900512", None, {}),
    ("ingrid.larsen", "Ingrid", "Larsen", "Sales Development Representative", "Sales", "LON",
     "514", "+44 7700 900514", None, {}),
    ("kenji.watanabe", "Kenji", "Watanabe", "Power Platform Developer",
     "Information Technology", "SEA", "130", "+1 425 555 0130", None, {}),
    ("anamaria.garcia", "Ana María", "García", "Business Analyst", "Operations", "MAD", "312",
     "+34 612 555 312", None, {}),
    ("noah.fischer", "Noah", "Fischer", "Solution Architect", "Information Technology", "MUC",
     "216", "+49 151 5550 2216", None, {}),
    ("olivia.brooks", "Olivia", "Brooks", "Financial Analyst", "Finance", "SEA", "140",
     "+1 425 555 0140", None, {}),
    ("samuel.adeyemi", "Samuel", "Adeyemi", "Finance Manager", "Finance", "SEA", "142",
     "+1 425 555 0142", None, {}),
    ("chloe.dubois", "Chloé", "Dubois", "HR Business Partner", "Human Resources", "PAR", "414",
     "+33 6 55 55 04 14", None, {}),
    ("peter.novak", "Peter", "Novak", "Warehouse Supervisor", "Operations", "SEA", "150",
     "+1 425 555 0150", None, {}),
]

# Who holds what today (local parts; every human but the two service identities has O365).
SALES_TEAM = ["zoe.muller", "jose.nunez", "francois.lefevre", "siobhan.obrien", "bjorn.akesson",
              "meilin.chen", "marcus.johnson", "aisha.khan", "lucas.moreau", "emily.carter",
              "lukasz.wisniewski", "ingrid.larsen"]
EMEA_SALES = ["zoe.muller", "jose.nunez", "francois.lefevre", "siobhan.obrien", "bjorn.akesson",
              "lucas.moreau", "lukasz.wisniewski", "ingrid.larsen", "thomas.becker"]
APPS_TEAM = ["aisha.khan", "kenji.watanabe", "anamaria.garcia", "noah.fischer", "olivia.brooks"]
SERVICE_IDENTITIES = ["svc-integration", "app-erp-connector"]

ENVIRONMENTS = [
    # name, kind, security_group, allow_role_assignment_on_disabled_users
    ("sales-prod", "dynamics365", "SG-Sales-Prod", "no"),
    ("apps-dev", "powerapps", "SG-Apps-Dev", "no"),
]
SKUS = [
    # sku, total_units, grants_access
    ("DYN365_ENTERPRISE_SALES", "30", "yes"),
    ("POWERAPPS_PER_USER", "20", "yes"),
    ("O365_BUSINESS_ESSENTIALS", "60", "no"),
]
GROUPS = ["SG-Sales-Prod", "SG-Apps-Dev", "SG-Sales-EMEA", "Northwind All Staff"]
SECURITY_ROLES = [
    ("sales-prod", "System Administrator"), ("sales-prod", "Basic User"),
    ("sales-prod", "Salesperson"), ("sales-prod", "Sales Manager"),
    ("apps-dev", "System Administrator"), ("apps-dev", "Basic User"),
    ("apps-dev", "Environment Maker"),
]
EXISTING_ROLES = [
    # environment, upn local part, role
    ("sales-prod", "grace.okafor", "System Administrator"),
    ("sales-prod", "priya.raman", "System Administrator"),
    ("sales-prod", "app-erp-connector", "System Administrator"),
    ("sales-prod", "svc-integration", "Basic User"),
    ("sales-prod", "thomas.becker", "Salesperson"),
    ("sales-prod", "zoe.muller", "Salesperson"),
    ("sales-prod", "jose.nunez", "Sales Manager"),
    ("sales-prod", "jose.nunez", "Salesperson"),
    ("sales-prod", "francois.lefevre", "Salesperson"),
    ("sales-prod", "siobhan.obrien", "Salesperson"),
    ("sales-prod", "bjorn.akesson", "Salesperson"),
    ("sales-prod", "meilin.chen", "Sales Manager"),
    ("sales-prod", "marcus.johnson", "Salesperson"),
    ("sales-prod", "aisha.khan", "Basic User"),
    ("sales-prod", "lucas.moreau", "Salesperson"),
    ("sales-prod", "emily.carter", "Salesperson"),
    ("sales-prod", "lukasz.wisniewski", "Salesperson"),
    ("sales-prod", "ingrid.larsen", "Salesperson"),
    ("apps-dev", "grace.okafor", "System Administrator"),
    ("apps-dev", "daniel.whitaker", "System Administrator"),
    ("apps-dev", "kenji.watanabe", "Environment Maker"),
    ("apps-dev", "kenji.watanabe", "Basic User"),
    ("apps-dev", "anamaria.garcia", "Basic User"),
    ("apps-dev", "noah.fischer", "System Administrator"),
    ("apps-dev", "olivia.brooks", "Basic User"),
    ("apps-dev", "aisha.khan", "Basic User"),
]
EXISTING_RECORDS = [
    # environment, table, record_id, owner (upn local part)
    ("sales-prod", "account", "ACC-0001", "zoe.muller"),
    ("sales-prod", "account", "ACC-0002", "jose.nunez"),
    ("sales-prod", "contact", "CON-0001", "meilin.chen"),
    ("sales-prod", "contact", "CON-0002", "thomas.becker"),
    ("sales-prod", "opportunity", "OPP-0001", "marcus.johnson"),
    ("sales-prod", "opportunity", "OPP-0002", "zoe.muller"),
    ("apps-dev", "account", "ACC-0101", "kenji.watanabe"),
    ("apps-dev", "contact", "CON-0101", "anamaria.garcia"),
]

# ---------------------------------------------------------------------------------------
# The onboarding batch. New hires, same layout as EXISTING (domain may differ).
NEW_HIRES = [
    ("sofia.ramirez", "Sofía", "Ramírez", "Account Executive", "Sales", "MAD", "314",
     "+34 612 555 314", None, {"sign_in_allowed": "Yes"}),
    ("liam.oconnor", "Liam", "O'Connor", "Inside Sales Representative", "Sales", "LON", "516",
     "+44 7700 900516", None, {"sign_in_allowed": "Yes"}),
    ("anais.girard", "Anaïs", "Girard", "Account Executive", "Sales", "PAR", "416",
     "+33 6 55 55 04 16", None, {}),
    ("jonas.weber", "Jonas", "Weber", "Account Executive", "Sales", "MUC", "218",
     "+49 151 5550 2218", None, {}),
    ("ethan.nakamura", "Ethan", "Nakamura", "Sales Development Representative", "Sales", "SEA",
     "128", "+1 425 555 0128", None, {"sign_in_allowed": "TRUE"}),
    ("isabella.rossi", "Isabella", "Rossi", "Regional Sales Manager, EMEA", "Sales", "LON",
     "518", "+44 7700 900518", f"isabella.rossi@{ALT_DOMAIN}", {}),
    ("carlos.mendes", "Carlos", "Mendes", "Account Executive", "Sales", "SEA", "132",
     "+1 425 555 0132", None, {}),
    ("fatima.alsayed", "Fatima", "Al-Sayed", "Sales Operations Analyst", "Sales Operations",
     "SEA", "134", "+1 425 555 0134", None, {}),
    ("dmitri.volkov", "Dmitri", "Volkov", "Power Platform Developer", "Information Technology",
     "MUC", "220", "+49 151 5550 2220", None, {}),
    ("hiroshi.tanaka", "Hiroshi", "Tanaka", "Business Analyst", "Operations", "SEA", "136",
     "+1 425 555 0136", None, {}),
    ("amelie.laurent", "Amélie", "Laurent", "Low-Code Developer", "Information Technology",
     "PAR", "418", "+33 6 55 55 04 18", None, {}),
    ("nora.lindqvist", "Nora", "Lindqvist", "CRM Administrator", "Information Technology",
     "LON", "520", "+44 7700 900520", None, {"admin_role": "Dynamics 365 Administrator"}),
    ("oluwaseun.bello", "Oluwaseun", "Bello", "HR Generalist", "Human Resources", "LON", "522",
     "+44 7700 900522", None, {}),
    (f"mateo.pena@{ALT_DOMAIN}", "Mateo", "Peña", "Warehouse Associate", "Operations", "MAD",
     "316", "", None, {}),
    ("jiwoo.park", "Ji-woo", "Park", "Financial Analyst", "Finance", "SEA", "144",
     "+1 425 555 0144", None, {}),
]
NEW_SALES = ["sofia.ramirez", "liam.oconnor", "anais.girard", "jonas.weber", "ethan.nakamura",
             "isabella.rossi", "carlos.mendes", "fatima.alsayed"]
NEW_APPS = ["fatima.alsayed", "dmitri.volkov", "hiroshi.tanaka", "amelie.laurent", "jiwoo.park"]

# Changes to people already in the tenant: only the cells that change are filled.
USER_UPDATES = [
    {"user_principal_name": "marcus.johnson", "job_title": "Senior Account Executive"},
    {"user_principal_name": "emily.carter", "job_title": "Inside Sales Manager"},
    {"user_principal_name": "kenji.watanabe", "job_title": "Lead Power Platform Developer",
     "mobile_phone": "+1 425 555 0190"},
    # Moved from Munich to London; no state in a UK address, so the old one is cleared.
    {"user_principal_name": "noah.fischer", "office": "LON-3.12",
     "office_phone": "+44 20 7946 0312", "street_address": "27 Southwark Street",
     "city": "London", "state_or_province": voc.CLEAR, "postal_code": "SE1 9HA",
     "country_or_region": "United Kingdom", "usage_location": "GB"},
    {"user_principal_name": "lucas.moreau", "action": "disable"},  # leaving; R7
    {"user_principal_name": "peter.novak", "action": "delete"},
]

ONBOARDING_LICENSES = (
    [(u, "O365_BUSINESS_ESSENTIALS", "assign") for u in [h[0] for h in NEW_HIRES]]
    + [(u, "DYN365_ENTERPRISE_SALES", "assign") for u in NEW_SALES]
    + [(u, "POWERAPPS_PER_USER", "assign") for u in NEW_APPS]
    + [("lucas.moreau", "DYN365_ENTERPRISE_SALES", "remove"),  # frees the seat (R7)
       ("olivia.brooks", "POWERAPPS_PER_USER", "remove")]
)
ONBOARDING_MEMBERSHIPS = (
    [("SG-Sales-Prod", u, "add") for u in NEW_SALES if u != "jonas.weber"]
    + [("SG-Sales-Prod", "nora.lindqvist", "add")]  # Dynamics 365 admins must be in it (R9)
    # Jonas is put in the nested group only: R5 warns he is not enabled.
    + [("SG-Sales-EMEA", u, "add") for u in ["sofia.ramirez", "liam.oconnor", "anais.girard",
                                            "jonas.weber", "isabella.rossi"]]
    + [("SG-Apps-Dev", u, "add") for u in NEW_APPS]
    + [("Northwind All Staff", h[0], "add") for h in NEW_HIRES]
    + [("SG-Sales-EMEA", "lucas.moreau", "remove")]
)
ONBOARDING_ROLES = [
    # upn local part, role, environment, action
    ("sofia.ramirez", "Salesperson", "sales-prod", "assign"),
    ("liam.oconnor", "Salesperson", "sales-prod", "assign"),
    ("anais.girard", "Salesperson", "sales-prod", "assign"),
    ("ethan.nakamura", "Salesperson", "sales-prod", "assign"),
    ("carlos.mendes", "Salesperson", "sales-prod", "assign"),
    ("isabella.rossi", "Sales Manager", "sales-prod", "assign"),
    ("isabella.rossi", "Salesperson", "sales-prod", "assign"),
    ("fatima.alsayed", "Basic User", "sales-prod", "assign"),
    ("fatima.alsayed", "Basic User", "apps-dev", "assign"),
    ("nora.lindqvist", "System Administrator", "sales-prod", "assign"),
    ("emily.carter", "Sales Manager", "sales-prod", "assign"),  # promoted
    ("emily.carter", "Salesperson", "sales-prod", "remove"),
    ("dmitri.volkov", "Basic User", "apps-dev", "assign"),
    ("dmitri.volkov", "Environment Maker", "apps-dev", "assign"),
    ("hiroshi.tanaka", "Basic User", "apps-dev", "assign"),
    ("amelie.laurent", "Basic User", "apps-dev", "assign"),
    ("jiwoo.park", "Basic User", "apps-dev", "assign"),
]
# Migrated CRM records. Owners are written the way the legacy export has them: a UPN,
# an email, a full name, any case. The last group of names are former employees: they
# match no environment user and become stub users (R12).
U = f"@{DOMAIN}"
RECORD_COLUMNS = ["table", "record_id", "owner", "environment", "name", "city",
                  "estimated_value"]
LEGACY_CRM = {
    # (environment, table): [(record_id, owner, name, city, estimated_value)]
    ("sales-prod", "account"): [
        ("LEG-ACC-1001", f"zoe.muller{U}", "Bergmann Feinkost GmbH", "München", ""),
        ("LEG-ACC-1002", "José Núñez", "Olivar del Sur S.L.", "Sevilla", ""),
        ("LEG-ACC-1003", f"francois.lefevre{U}", "Café Lumière SARL", "Lyon", ""),
        ("LEG-ACC-1004", f"siobhan.obrien{U}", "Harbourside Grocers Ltd", "Bristol", ""),
        ("LEG-ACC-1005", "Mei Lin Chen", "Cascade Provisions Inc.", "Tacoma", ""),
        ("LEG-ACC-1006", f"bjorn.akesson@{ALT_DOMAIN}", "Nordlicht Getränke AG", "Hamburg", ""),
        ("LEG-ACC-1007", f"carlos.mendes{U}", "Pike Street Deli", "Seattle", ""),
        ("LEG-ACC-1008", f"sofia.ramirez{U}", "Mercado Tulipán", "Valencia", ""),
        ("LEG-ACC-1009", "Hannah Schmidt", "Thames Valley Foods Ltd", "Reading", ""),
        ("LEG-ACC-1010", "pat.oneil@legacy.example", "Maison Rivière", "Bordeaux", ""),
    ],
    ("sales-prod", "contact"): [
        ("LEG-CON-2001", f"zoe.mueller@{ALT_DOMAIN}", "Klaus Bergmann", "München", ""),
        ("LEG-CON-2002", f"jose.nunez{U}", "Carmen Vidal", "Sevilla", ""),
        ("LEG-CON-2003", "Anaïs Girard", "Margaux Petit", "Lyon", ""),
        ("LEG-CON-2004", f"liam.oconnor{U}", "Oliver Hughes", "Bristol", ""),
        ("LEG-CON-2005", f"marcus.johnson{U}", "Dana Whitfield", "Tacoma", ""),
        ("LEG-CON-2006", "björn åkesson", "Greta Lindholm", "Hamburg", ""),
        ("LEG-CON-2007", f"ethan.nakamura{U}", "Amira Haddad", "Seattle", ""),
        ("LEG-CON-2008", "hannah schmidt", "Sophie Turner", "Reading", ""),
        ("LEG-CON-2009", "pat.oneil@legacy.example", "Julien Marchand", "Bordeaux", ""),
        ("LEG-CON-2010", "m.kowalski@legacy.example", "Tomasz Zieliński", "London", ""),
    ],
    ("sales-prod", "opportunity"): [
        ("LEG-OPP-3001", f"zoe.muller{U}", "Bergmann Feinkost - beverages 2025", "München",
         "48000"),
        ("LEG-OPP-3002", f"jose.nunez{U}", "Olivar del Sur - olive oil range", "Sevilla",
         "27500"),
        ("LEG-OPP-3003", f"meilin.chen{U}", "Cascade Provisions - Q3 restock", "Tacoma",
         "61200"),
        ("LEG-OPP-3004", "Carlos Mendes", "Pike Street Deli - catering", "Seattle", "9800"),
        ("LEG-OPP-3005", "Isabella Rossi", "Harbourside Grocers - private label", "Bristol",
         "35000"),
        ("LEG-OPP-3006", "Hannah Schmidt", "Thames Valley Foods - renewal", "Reading",
         "22000"),
        ("LEG-OPP-3007", "Rafael Ortega", "Nordlicht Getränke - winter promotion", "Hamburg",
         "15400"),
        ("LEG-OPP-3008", f"lucas.moreau{U}", "Maison Rivière - wine pairing", "Bordeaux",
         "12750"),
        ("LEG-OPP-3009", f"sofia.ramirez{U}", "Mercado Tulipán - expansion", "Valencia",
         "18300"),
        ("LEG-OPP-3010", "Emily Carter", "Fremont Bakery Co - flour contract", "Seattle",
         "8600"),
    ],
    ("apps-dev", "account"): [
        ("LEG-ACC-5001", f"kenji.watanabe{U}", "Lakeside Catering Ltd", "Seattle", ""),
    ],
    ("apps-dev", "contact"): [
        ("LEG-CON-5002", "Ana María García", "Marta Ruiz", "Madrid", ""),
        ("LEG-CON-5003", "Hannah Schmidt", "Ivo Jansen", "Seattle", ""),  # a stub per environment
    ],
}
ABOUT = [
    "Northwind Traders - onboarding batch NWT-2025-01",
    "",
    "Prepared by Grace Okafor (IT) for the January 2025 intake and the CRM migration.",
    "Sheets:",
    "  users - 15 new hires, 4 profile updates (titles, Noah Fischer's move to London),",
    "          Lucas Moreau leaves (disable), Peter Novak's account is deleted.",
    "  licenses - Microsoft 365 for every hire, Dynamics 365 Sales for the sales hires,",
    "             Power Apps for the app makers; Lucas's and Olivia's seats are freed.",
    "  memberships - hires into SG-Sales-Prod / SG-Sales-EMEA / SG-Apps-Dev and All Staff.",
    "               Jonas Weber is in SG-Sales-EMEA only (nested): he will not be enabled",
    "               in sales-prod until he is added to SG-Sales-Prod directly.",
    "  roles - Salesperson, Sales Manager, Basic User in sales-prod and apps-dev.",
    "  records - accounts, contacts and opportunities migrated from the legacy CRM.",
    "            Hannah Schmidt, Pat O'Neil, Rafael Ortega and M. Kowalski have left;",
    "            their records go to stub users until reassigned.",
    "",
    "Blank cells leave a stored value as it is; (clear) empties it.",
]

# ---------------------------------------------------------------------------------------
# Microsoft's own formats, as their admin centers produce them.
M365_HEADER = ["User Name", "First Name", "Last Name", "Display Name", "Job Title",
               "Department", "Office Number", "Office Phone", "Mobile Phone", "Fax",
               "Alternate email address", "Address", "City", "State or Province",
               "ZIP or Postal Code", "Country or Region"]
M365_ROWS = [
    [f"lena.hoffmann{U}", "Lena", "Hoffmann", "Lena Hoffmann", "Sales Intern", "Sales",
     "MUC-1.04", "+49 89 5550 1104", "", "", "", "Leopoldstraße 112", "München", "Bayern",
     "80802", "Germany"],
    [f"tariq.mansour{U}", "Tariq", "Mansour", "Tariq Mansour", "Marketing Intern",
     "Marketing", "LON-2.07", "+44 20 7946 0207", "+44 7700 900207", "",
     "tariq.mansour@mail.example", "27 Southwark Street", "London", "", "SE1 9HA",
     "United Kingdom"],
    [f"camille.bernard{U}", "Camille", "Bernard", "Camille Bernard", "Logistics Coordinator",
     "Operations", "PAR-1.02", "+33 1 55 55 01 02", "", "+33 1 55 55 01 99", "",
     "48 rue de Rivoli", "Paris", "Île-de-France", "75004", "France"],
    [f"owen.price{U}", "Owen", "Price", "Owen Price", "IT Support Technician",
     "Information Technology", "SEA-1.10", "+1 206 555 0110", "+1 425 555 0191", "", "",
     "1200 Harbor Avenue SW", "Seattle", "WA", "98126", "United States"],
]
ENTRA_CREATE_HEADER = [
    "Name [displayName] Required", "User name [userPrincipalName] Required",
    "Initial password [passwordProfile] Required",
    "Block sign in (Yes/No) [accountEnabled] Required",
    "First name [givenName]", "Last name [surname]", "Job title [jobTitle]",
    "Department [department]", "Usage location [usageLocation]", "Street address [streetAddress]",
    "State or province [state]", "Country or region [country]",
    "Office [physicalDeliveryOfficeName]", "City [city]", "ZIP or postal code [postalCode]",
    "Office phone [telephoneNumber]", "Mobile phone [mobile]",
]
ENTRA_CREATE_ROWS = [
    ["Nadia Petrova", f"nadia.petrova{U}", "Kx7#mWq2-Lp9v", "No", "Nadia", "Petrova",
     "Data Analyst", "Finance", "DE", "Leopoldstraße 112", "Bayern", "Germany", "MUC-2.11",
     "München", "80802", "+49 89 5550 1211", ""],
    ["Kwame Mensah", f"kwame.mensah{U}", "Tr4!nZe8-Qs2w", "No", "Kwame", "Mensah",
     "Account Executive", "Sales", "GB", "27 Southwark Street", "", "United Kingdom",
     "LON-2.15", "London", "SE1 9HA", "+44 20 7946 0215", "+44 7700 900215"],
    ["Elena Costa", f"elena.costa@{ALT_DOMAIN}", "Vb9$hLx3-Md6r", "No", "Elena", "Costa",
     "Warehouse Associate", "Operations", "ES", "Calle de Alcalá 221", "Comunidad de Madrid",
     "Spain", "MAD-0.04", "Madrid", "28028", "", ""],
    # A contractor whose start date is not confirmed yet: created with sign-in blocked.
    ["Ryan Mitchell", f"ryan.mitchell{U}", "Hq2%pRt7-Wn4k", "Yes", "Ryan", "Mitchell",
     "Power Platform Consultant", "Information Technology", "US", "1200 Harbor Avenue SW",
     "WA", "United States", "SEA-2.20", "Seattle", "98126", "+1 206 555 0160", ""],
]
ENTRA_MEMBERS_HEADER = ["Member object ID or user principal name [memberObjectIdOrUpn] Required"]
ENTRA_MEMBERS = [f"meilin.chen{U}", f"zoe.muller{U}", f"samuel.adeyemi{U}", f"chloe.dubois{U}"]

# ---------------------------------------------------------------------------------------
# The broken set: each row either valid or wrong in exactly one cell. Broken rows carry
# (column, what is wrong, a value that fixes it) so broken/README.md and tests agree.
BROKEN_USER_COLUMNS = ["user_principal_name", "first_name", "last_name", "display_name",
                       "job_title", "department", "email", "postal_code", "usage_location",
                       "sign_in_allowed", "admin_role", "access_mode", "user_type",
                       "application_id"]
LONG_TITLE = ("Senior Regional Vice President of Strategic Enterprise Accounts and Channel "
              "Partnerships, EMEA")
LONG_POSTAL = "D-80802 München, Postfach 12 34 56, Hinterhaus links, 3. Stock"


def _bu(local: str, first: str, last: str, title: str, **cells: str) -> dict:
    """A valid broken-set user row; `cells` overrides to break (or complete) it."""
    row = {"user_principal_name": f"{local}{U}", "first_name": first, "last_name": last,
           "display_name": f"{first} {last}", "job_title": title, "department": "Sales",
           "email": f"{local}{U}", "postal_code": "80802", "usage_location": "DE",
           "sign_in_allowed": "yes", "admin_role": "", "access_mode": "", "user_type": "",
           "application_id": ""}
    row.update(cells)
    return row


BROKEN_USERS = [
    (_bu("valentina.ricci", "Valentina", "Ricci", "Account Executive"), None),
    (_bu("kevin.marsh", "Kevin", "Marsh", "Account Executive",
         user_principal_name="kevin.marsh"),
     ("user_principal_name", "UPN has no @domain part", f"kevin.marsh{U}")),
    (_bu("aaron.blake", "Aaron", "Blake", "Inside Sales Representative"), None),
    (_bu("helga.brandt", "Helga", "Brandt", LONG_TITLE),
     ("job_title", f"job title is {len(LONG_TITLE)} characters, the limit is 64",
      "Regional Vice President, EMEA")),
    (_bu("yusuf.demir", "Yusuf", "Demir", "Account Executive", usage_location="XX"),
     ("usage_location", "XX is not an assigned ISO 3166-1 country code", "DE")),
    (_bu("greta.vogel", "Greta", "Vogel", "Account Executive", usage_location="Germany"),
     ("usage_location", "a country name, not a two-letter ISO 3166 code", "DE")),
    (_bu("ines.moreira", "Inês", "Moreira", "Business Analyst", access_mode="sometimes"),
     ("access_mode", "not read-write, administrative or non-interactive", "read-write")),
    (_bu("felix.wagner", "Felix", "Wagner", "IT Manager", admin_role="Super admin"),
     ("admin_role", "not Global, Power Platform or Dynamics 365 admin(istrator)",
      "Power Platform admin")),
    (_bu("mia.schulz", "Mia", "Schulz", "Sales Assistant", sign_in_allowed="maybe"),
     ("sign_in_allowed", "not yes/no/true/false/1/0", "no")),
    (_bu("app-forecast-bot", "", "", "", display_name="Forecast Bot (application user)",
         department="Information Technology", email="", usage_location="",
         user_type="application"),
     ("application_id", "user_type application needs an application_id (a GUID)",
      "0b4e3c2d-1a9f-4e8d-b7c6-5a4f3e2d1c0b")),
    (_bu("ravi.patel", "Ravi", "Patel", "Account Executive",
         user_principal_name=f"Ravi.Patel{U}"), None),
    (_bu("ravi.patel", "Ravi", "Patel", "Account Executive",
         user_principal_name=f"RAVI.PATEL{U}"),
     ("user_principal_name", "same UPN as row 12 but for case (UPNs compare lower-cased)",
      f"ravi.patel2{U}")),
    (_bu("tobias.keller", "Tobias", "Keller", "Account Executive",
         email="tobias.keller.northwind.example"),
     ("email", "no @ in the email address", f"tobias.keller{U}")),
    (_bu("lea.zimmermann", "Lea", "Zimmermann", "Account Executive", postal_code=LONG_POSTAL),
     ("postal_code", f"postal code is {len(LONG_POSTAL)} characters, the limit is 40",
      "80802")),
    (_bu("jan.kowalczyk", "Jan", "Kowalczyk", "Sales Development Representative"), None),
    (_bu("sara.lindgren", "Sara", "Lindgren", "Account Executive"), None),
]
BROKEN_LICENSES = [
    ((f"valentina.ricci{U}", "DYN365_ENTERPRISE_SALES", "assign"), None),
    ((f"aaron.blake{U}", "", "assign"), ("sku", "the required sku cell is empty",
                                          "DYN365_ENTERPRISE_SALES")),
    ((f"aaron.blake{U}", "O365_BUSINESS_ESSENTIALS", ""), None),
    ((f"jan.kowalczyk{U}", "DYN365_ENTERPRISE_SALES", "grant"),
     ("action", "not assign or remove", "assign")),
    ((f"sara.lindgren{U}", "DYN365_ENTERPRISE_SALES", "assign"), None),
]
BROKEN_MEMBERSHIPS = [
    (("SG-Sales-Prod", f"valentina.ricci{U}", "add"), None),
    (("SG-Sales-Prod", f"aaron.blake{U}", "add"), None),
    (("SG-Sales-Prod", f"valentina.ricci{U}", "add"),
     ("member", "the same (group, member) pair as row 2", f"jan.kowalczyk{U}")),
    (("SG-Sales-EMEA", f"sara.lindgren{U}", "add"), None),
]
BROKEN_ROLES = [
    ((f"valentina.ricci{U}", "Salesperson", "sales-prod", "assign"), None),
    ((f"aaron.blake{U}", "Salesperson", "sales-prod", "revoke"),
     ("action", "not assign or remove", "assign")),
    ((f"sara.lindgren{U}", "Basic User", "sales-prod", ""), None),
]
# fmt: on


# ---------------------------------------------------------------------------------------
# Building the tables
def upn(local: str) -> str:
    """A full UPN from a local part (or the UPN itself when it has a domain)."""
    return local if "@" in local else f"{local}@{DOMAIN}"


def person_row(entry: tuple) -> dict:
    """One users row (snapshot columns) from a EXISTING / NEW_HIRES entry."""
    local, first, last, title, dept, office, ext, mobile, email, extra = entry
    row = dict.fromkeys(USER_SNAPSHOT_COLUMNS, "")
    row.update(user_principal_name=upn(local), first_name=first, last_name=last,
               display_name=f"{first} {last}".strip(), job_title=title, department=dept,
               mobile_phone=mobile, email=upn(local) if email is None else email,
               sign_in_allowed="yes", user_type="interactive")  # fmt: skip
    if office:
        prefix, street, city, state, postal, country, usage, phone = OFFICES[office]
        row.update(office=f"{prefix}-{ext[0]}.{ext[1:]}" if ext else "",
                   office_phone=f"{phone}{ext}" if ext else "", street_address=street,
                   city=city, state_or_province=state, postal_code=postal,
                   country_or_region=country, usage_location=usage)  # fmt: skip
    row.update(extra)
    return row


def snapshot_tables() -> dict[str, tuple[list[str], list[list[str]]]]:
    """Every snapshot sheet of SPEC §3 except environment_users (init derives those)."""
    users = [person_row(e) for e in EXISTING]
    for u in users:  # an explicit access mode, as an export writes it
        u["access_mode"] = u["access_mode"] or "read-write"
    humans = [e[0] for e in EXISTING if e[0] not in SERVICE_IDENTITIES]
    licenses = (
        [(upn(u), "O365_BUSINESS_ESSENTIALS") for u in humans]
        + [(upn(u), "DYN365_ENTERPRISE_SALES") for u in ["priya.raman", "thomas.becker"]]
        + [(upn(u), "DYN365_ENTERPRISE_SALES") for u in SALES_TEAM]
        + [(upn(u), "POWERAPPS_PER_USER") for u in APPS_TEAM]
    )
    sales_prod = ["priya.raman", "svc-integration", "thomas.becker", *SALES_TEAM]
    memberships = (
        [("SG-Sales-Prod", upn(u)) for u in sales_prod]
        + [("SG-Sales-Prod", "SG-Sales-EMEA")]  # nested: its members are not enabled (R5)
        + [("SG-Sales-EMEA", upn(u)) for u in EMEA_SALES]
        + [("SG-Apps-Dev", upn(u)) for u in APPS_TEAM]
        + [("Northwind All Staff", upn(u)) for u in humans]
    )
    return {
        "environments": (
            ["name", "kind", "security_group", "allow_role_assignment_on_disabled_users"],
            [list(e) for e in ENVIRONMENTS],
        ),
        "skus": (["sku", "total_units", "grants_access"], [list(s) for s in SKUS]),
        "domains": (["domain"], [[DOMAIN], [ALT_DOMAIN]]),
        "users": (USER_SNAPSHOT_COLUMNS, [[u[c] for c in USER_SNAPSHOT_COLUMNS] for u in users]),
        "licenses": (["user_principal_name", "sku"], [list(r) for r in licenses]),
        "groups": (["name"], [[g] for g in GROUPS]),
        "memberships": (["group", "member"], [list(m) for m in memberships]),
        "security_roles": (["environment", "role"], [list(r) for r in SECURITY_ROLES]),
        "roles": (
            ["user_principal_name", "role", "environment"],
            [[upn(u), role, env] for env, u, role in EXISTING_ROLES],
        ),
        "records": (
            ["environment", "table", "record_id", "owner"],
            [[env, t, rid, upn(o)] for env, t, rid, o in EXISTING_RECORDS],
        ),
    }


def onboarding_tables() -> dict[str, tuple[list[str], list[list[str]]]]:
    """The batch: one table per kind, in the columns an administrator would fill."""
    users = []
    for entry in NEW_HIRES:
        row = person_row(entry)
        # a hire's sheet leaves the defaults blank, except where the entry says otherwise
        row["sign_in_allowed"] = entry[9].get("sign_in_allowed", "")
        row["user_type"] = ""
        users.append(row)
    for change in USER_UPDATES:
        users.append({**change, "user_principal_name": upn(change["user_principal_name"])})
    user_rows = [[u.get(c, "") for c in USER_INPUT_COLUMNS] for u in users]
    return {
        "users": (USER_INPUT_COLUMNS, user_rows),
        "licenses": (
            ["user_principal_name", "sku", "action"],
            [[upn(u), s, a] for u, s, a in ONBOARDING_LICENSES],
        ),
        "memberships": (
            ["group", "member", "action"],
            [[g, upn(m), a] for g, m, a in ONBOARDING_MEMBERSHIPS],
        ),
        "roles": (
            ["user_principal_name", "role", "environment", "action"],
            [[upn(u), r, e, a] for u, r, e, a in ONBOARDING_ROLES],
        ),
        "records": (
            RECORD_COLUMNS,
            [
                [table, rid, owner, env, *rest]
                for (env, table), rows in LEGACY_CRM.items()
                for rid, owner, *rest in rows
            ],
        ),
    }


def broken_tables() -> dict[str, tuple[list[str], list[list[str]], list]]:
    """The broken set: (header, rows, the documented fault of each row or None)."""
    return {
        "users": (
            BROKEN_USER_COLUMNS,
            [[r[c] for c in BROKEN_USER_COLUMNS] for r, _ in BROKEN_USERS],
            [f for _, f in BROKEN_USERS],
        ),
        "licenses": (
            ["user_principal_name", "sku", "action"],
            [list(r) for r, _ in BROKEN_LICENSES],
            [f for _, f in BROKEN_LICENSES],
        ),
        "memberships": (
            ["group", "member", "action"],
            [list(r) for r, _ in BROKEN_MEMBERSHIPS],
            [f for _, f in BROKEN_MEMBERSHIPS],
        ),
        "roles": (
            ["user_principal_name", "role", "environment", "action"],
            [list(r) for r, _ in BROKEN_ROLES],
            [f for _, f in BROKEN_ROLES],
        ),
    }


# ---------------------------------------------------------------------------------------
# Writing
def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False,
              preamble: str | None = None, crlf: bool = False) -> None:  # fmt: skip
    """UTF-8 CSV (with BOM for the Microsoft 365 admin center's own files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    newline = "\r\n" if crlf else "\n"
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        if preamble is not None:
            fh.write(preamble + newline)
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)


def add_sheet(wb: Workbook, name: str, header: list[str], rows: list[list[str]]) -> None:
    """A sheet with a bold frozen header; every cell written as text (no formulas)."""
    ws = wb.create_sheet(name)
    ws.append(header)
    for row in rows:
        ws.append([value or None for value in row])  # an empty cell, as Excel leaves it
        for cell in ws[ws.max_row]:
            if cell.value is not None:
                cell.data_type = "s"  # "+1 206 …" and "98126" stay text, never formulas
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for idx, col in enumerate(ws.iter_cols(values_only=True), start=1):
        width = max(len(str(v)) for v in col if v is not None) if any(col) else 8
        ws.column_dimensions[ws.cell(1, idx).column_letter].width = min(max(width + 2, 8), 60)


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save with fixed dates so a rerun writes the same bytes (no churn in git)."""
    wb.properties.creator = "Northwind Traders IT"
    wb.properties.created = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with now
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6]), data,
                         zipfile.ZIP_DEFLATED)  # fmt: skip


def write_set(name: str, tables: dict, *, about: list[str] | None = None) -> None:
    """samples/<name>.xlsx (one sheet per table) and samples/<name>/<table>.csv."""
    wb = Workbook()
    wb.remove(wb.active)
    if about is not None:  # a sheet of no kind: the reader skips it with an info line
        ws = wb.create_sheet("About")
        for line in about:
            ws.append([line or None])
        ws["A1"].font = Font(bold=True, size=13)
        ws.column_dimensions["A"].width = 95
        for row in ws.iter_rows():
            row[0].alignment = Alignment(wrap_text=False)
    folder = HERE / name
    for old in folder.glob("*.csv"):
        old.unlink()
    for table, (header, rows) in tables.items():
        add_sheet(wb, table, header, rows)
        write_csv(folder / f"{table}.csv", header, rows)
    save_workbook(wb, HERE / f"{name}.xlsx")


def write_microsoft() -> None:
    folder = HERE / "microsoft"
    # The admin center's template and exports carry a BOM and CRLF line ends.
    write_csv(folder / "m365-add-multiple-users.csv", M365_HEADER, M365_ROWS, bom=True,
              crlf=True)  # fmt: skip
    write_csv(folder / "entra-bulk-create.csv", ENTRA_CREATE_HEADER, ENTRA_CREATE_ROWS,
              preamble="version:v1.0", crlf=True)  # fmt: skip
    write_csv(folder / "entra-bulk-add-members.csv", ENTRA_MEMBERS_HEADER,
              [[m] for m in ENTRA_MEMBERS], preamble="version:v1.0", crlf=True)  # fmt: skip


def write_broken() -> None:
    folder = HERE / "broken"
    lines = [
        "# samples/broken — one broken cell per listed row",
        "",
        "Generated by `samples/make_samples.py`; do not edit by hand. Every other row is",
        "valid, so `userbatch validate samples/broken/` exits **4** (some rows valid) and",
        "`userbatch validate --strict samples/broken/` exits **3**.",
        "",
        "Row numbers are the spreadsheet's: the header is row 1. Replacing the bad value",
        "with the *fix* value makes the row valid (for a duplicate, the later row is the",
        "one listed).",
        "",
        "| file | row | column | bad value | what is wrong | fix |",
        "|---|---|---|---|---|---|",
    ]
    for kind, (header, rows, faults) in broken_tables().items():
        write_csv(folder / f"{kind}.csv", header, rows)
        for number, (row, fault) in enumerate(zip(rows, faults, strict=True), start=2):
            if fault is None:
                continue
            column, why, fix = fault
            bad = row[header.index(column)]
            lines.append(f"| {kind}.csv | {number} | {column} | `{bad}` | {why} | `{fix}` |")
    lines += ["", "All other rows are valid. Valid users rows: "
              + ", ".join(str(n) for n, (_, f) in enumerate(BROKEN_USERS, start=2) if f is None)
              + "."]  # fmt: skip
    (folder / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------
# Self-check: SPEC §2's cell rules, enough to catch a mistake in the tables above.
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
ISO_IN_USE = {"US", "DE", "ES", "FR", "GB", "NL", "SE", "IE", "IT", "PT"}  # sample countries
ADMIN = re.compile(r"^(global|power platform|dynamics 365) admin(istrator)?$", re.I)


def _norm(value: str) -> str:
    return value.strip().lower().replace("-", "").replace(" ", "")


def user_faults(row: dict) -> list[str]:
    """The columns of one users row that break a SPEC §2 rule."""
    bad = [c for c, limit in voc.MAX_LENGTH.items() if len(row.get(c, "") or "") > limit]
    checks = {
        "user_principal_name": not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+",
                                                row["user_principal_name"]),
        "email": bool(row.get("email")) and "@" not in row["email"],
        "usage_location": bool(row.get("usage_location"))
        and row["usage_location"].upper() not in ISO_IN_USE,
        "sign_in_allowed": bool(row.get("sign_in_allowed"))
        and row["sign_in_allowed"].lower() not in voc.TRUE_WORDS + voc.FALSE_WORDS,
        "admin_role": bool(row.get("admin_role")) and not ADMIN.match(row["admin_role"]),
        "access_mode": bool(row.get("access_mode"))
        and _norm(row["access_mode"]) not in {_norm(m) for m in voc.ACCESS_MODES},
        "user_type": bool(row.get("user_type"))
        and _norm(row["user_type"]) not in {_norm(t) for t in voc.USER_TYPES},
        "application_id": (_norm(row.get("user_type") or "") == "application")
        and not GUID.match(row.get("application_id") or ""),
        "action": bool(row.get("action"))
        and row["action"].lower() not in voc.USER_ACTIONS,
    }  # fmt: skip
    return bad + [c for c, failed in checks.items() if failed]


def simple_faults(kind: str, row: dict) -> list[str]:
    """Required cells and action enum of a licenses/memberships/roles/records row."""
    bad = [c for c in voc.REQUIRED[kind] if not row.get(c)]
    action = row.get("action", "")
    if action and action.lower() not in voc.ACTIONS[kind]:
        bad.append("action")
    return bad


def key_of(kind: str, row: dict) -> str:
    """SPEC §7 key, lower-cased where UPNs compare lower-cased."""
    parts = {
        "users": ["user_principal_name"],
        "licenses": ["user_principal_name", "sku"],
        "memberships": ["group", "member"],
        "roles": ["environment", "user_principal_name", "role"],
        "records": ["environment", "table", "record_id"],
    }[kind]
    return "|".join((row.get(p) or "").lower() for p in parts)


def row_faults(kind: str, rows: list[dict]) -> list[list[str]]:
    """Per row, the faulty columns, duplicates (a later row with an earlier key) included."""
    seen: set[str] = set()
    faults = []
    for row in rows:
        found = user_faults(row) if kind == "users" else simple_faults(kind, row)
        key = key_of(kind, row)
        if key in seen:
            found.append(voc.REQUIRED[kind][0] if kind != "memberships" else "member")
        seen.add(key)
        faults.append(found)
    return faults


def as_dicts(header: list[str], rows: list[list[str]]) -> list[dict]:
    return [dict(zip(header, r, strict=True)) for r in rows]


def check_rows() -> list[str]:
    """Messages for every sample row that is not what its set promises."""
    messages = []
    for kind, (header, rows) in onboarding_tables().items():
        for n, found in enumerate(row_faults(kind, as_dicts(header, rows)), 2):
            if found:
                messages.append(f"onboarding/{kind}.csv row {n}: {found}")
    for kind, (header, rows, faults) in broken_tables().items():
        found_faults = row_faults(kind, as_dicts(header, rows))
        for n, (found, fault) in enumerate(zip(found_faults, faults, strict=True), 2):
            expected = [fault[0]] if fault else []
            if found != expected:
                messages.append(f"broken/{kind}.csv row {n}: {found}, documented {expected}")
    for n, found in enumerate(row_faults("users", as_dicts(*snapshot_tables()["users"])), 2):
        if found:
            messages.append(f"snapshot/users.csv row {n}: {found}")
    return messages


def check_references() -> list[str]:
    """The onboarding batch names only users, SKUs, groups and roles that will exist,
    and stays within every SKU's units (R14) with a usage location (R15)."""
    snap = {name: as_dicts(*table) for name, table in snapshot_tables().items()}
    batch = {name: as_dicts(*table) for name, table in onboarding_tables().items()}
    upns = {u["user_principal_name"].lower() for u in snap["users"] + batch["users"]}
    located = {u["user_principal_name"].lower() for u in snap["users"] + batch["users"]
               if u.get("usage_location") and u["usage_location"] != voc.CLEAR}  # fmt: skip
    roles = {(r["environment"], r["role"]) for r in snap["security_roles"]}
    groups = {g["name"] for g in snap["groups"]}
    units = {s["sku"]: int(s["total_units"]) for s in snap["skus"]}
    messages = []
    for r in batch["licenses"]:
        upn_ = r["user_principal_name"].lower()
        if upn_ not in upns or r["sku"] not in units or upn_ not in located:
            messages.append(f"licenses: {r} names an unknown user/SKU or lacks usage location")
    for r in batch["memberships"]:
        if r["group"] not in groups or r["member"].lower() not in upns | groups:
            messages.append(f"memberships: {r} names an unknown group or member")
    for r in batch["roles"]:
        if (
            r["user_principal_name"].lower() not in upns
            or (r["environment"], r["role"]) not in roles
        ):
            messages.append(f"roles: {r} names an unknown user or role")
    held = {}
    for r in snap["licenses"]:
        held[r["sku"]] = held.get(r["sku"], 0) + 1
    for r in batch["licenses"]:
        held[r["sku"]] += 1 if r["action"] == "assign" else -1
    messages += [
        f"skus: {s} needs {n} of {units[s]} units" for s, n in held.items() if n > units[s]
    ]
    return messages


def main() -> int:
    write_set("snapshot", snapshot_tables())
    write_set("onboarding", onboarding_tables(), about=ABOUT)
    write_microsoft()
    write_broken()
    problems = check_rows() + check_references()
    for message in problems:
        print(message, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
