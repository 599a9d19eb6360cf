"""One PowerShell script for what Entra's portal files cannot do.

Microsoft Graph PowerShell SDK: user updates (R15: usage location before licenses),
license removals then assignments by SKU part number (R14), group-in-group memberships;
Microsoft.PowerApps.Administration.PowerShell: force-sync new and re-enabled users into
their environments. What no supported cmdlet does simply (security roles, access modes,
admin roles, application users) is listed in a comment block for the Power Platform
admin center.

Every value is a single-quoted PowerShell string with its quotes doubled, so no value can
inject code; comment lines lose their line breaks and control characters for the same
reason. Each change is one ``Invoke-Change`` line: ``-WhatIf`` support, retry on
throttling (HTTP 429), and a log line per change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from userbatch.emit.entra import Entry, lower, membership_changes, tenant_changes
from userbatch.plan.changes import as_text

SCRIPT_NAME = "userbatch-changes.ps1"

# Our tenant user columns -> Microsoft Graph user properties.
GRAPH_PROPERTIES = {
    "first_name": "givenName",
    "last_name": "surname",
    "display_name": "displayName",
    "job_title": "jobTitle",
    "department": "department",
    "office": "officeLocation",
    "office_phone": "businessPhones",  # a collection in Graph
    "mobile_phone": "mobilePhone",
    "fax": "faxNumber",
    "email": "mail",
    "street_address": "streetAddress",
    "city": "city",
    "state_or_province": "state",
    "postal_code": "postalCode",
    "country_or_region": "country",
    "usage_location": "usageLocation",
    "sign_in_allowed": "accountEnabled",
}
# Created users: the fields Entra's bulk-create template has no column for.
NOT_IN_CREATE_TEMPLATE = ("fax", "email")
# R9 admin roles -> the Entra role to assign by hand.
ENTRA_ROLES = {
    "Global admin": "Global Administrator",
    "Power Platform admin": "Power Platform Administrator",
    "Dynamics 365 admin": "Dynamics 365 Administrator",
}

STUB_ROLE_NOTE = "  (stub: given by the import, R12)"

# Characters PowerShell takes as a single quote: each is doubled inside a literal.
_QUOTE = r"['\u2018\u2019\u201a\u201b]"
_QUOTES = f"({_QUOTE})"
# Line breaks and controls would end a comment line; bidi controls could disguise one.
_UNSAFE_IN_COMMENT = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def ps_quote(values: pd.Series) -> pd.Series:
    """Each value as a PowerShell single-quoted string literal; missing as ``$null``."""
    text = values.astype("str")
    quoted = text.str.contains(_QUOTE, regex=True, na=False)
    if quoted.any():  # most values hold no quote: replace only where one is
        text = text.mask(quoted, text[quoted].str.replace(_QUOTES, r"\1\1", regex=True))
    return ("'" + text + "'").fillna("$null")


def ps_literal(value: str) -> str:
    return ps_quote(pd.Series([value])).iloc[0]


def comment_safe(values: pd.Series) -> pd.Series:
    return values.astype("str").str.replace(_UNSAFE_IN_COMMENT, " ", regex=True)


def write_script(out_dir: Path, plan) -> Entry:
    path = out_dir / SCRIPT_NAME
    # BOM: Windows PowerShell 5.1 (which the Power Apps admin module needs) reads a
    # script without one as ANSI and would garble non-ASCII names.
    path.write_text(render_script(plan), encoding="utf-8-sig", newline="\r\n")
    note = ("licenses, user updates, nested groups, environment sync; roles to assign by hand "
            "listed at its end: run it first with -WhatIf")  # fmt: skip
    return Entry(path, note)


def render_script(plan) -> str:
    changes = plan.changes
    tenant = tenant_changes(changes)
    environment = as_text(changes[changes["environment"].notna()])
    sections = [
        _created_user_extras(plan, tenant),
        _user_updates(plan, tenant),
        _licenses(tenant, "remove_license"),
        _licenses(tenant, "assign_license"),
        _nested_memberships(plan, tenant),
        _syncs(plan, environment),
    ]
    body = "\n".join(line for section in sections for line in section)
    syncs = environment["change"].isin(("create_user", "enable_user")).any()
    return "\n".join([_preamble(syncs), body, "", *_by_hand(plan, tenant, environment), _EPILOGUE])


def _call(change: str, keys: pd.Series, commands: pd.Series) -> list[str]:
    """One ``Invoke-Change`` line per change: its log label, key and script block."""
    if keys.empty:
        return []
    lines = "Invoke-Change " + ps_literal(change) + " " + ps_quote(keys) + " { " + commands + " }"
    return lines.tolist()


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"# --- {title} ---", *lines] if lines else []


# -- users ----------------------------------------------------------------------------------


def _parsed(texts: pd.Series) -> list[dict]:
    # Updates list only the fields they change; null means "(clear)". Few per run.
    return [json.loads(t) if isinstance(t, str) else {} for t in texts]


def _graph_body(fields: dict) -> tuple[str, str]:
    """(hashtable of values to set, hashtable of properties to clear) for Graph."""
    sets, clears = [], []
    for column, value in fields.items():
        name = GRAPH_PROPERTIES.get(column)
        if name is None:
            continue
        if value is None:
            clears.append(f"{name} = " + ("@()" if name == "businessPhones" else "$null"))
        elif name == "accountEnabled":
            sets.append(f"{name} = " + ("$false" if value == "no" else "$true"))
        elif name == "businessPhones":
            sets.append(f"{name} = @({ps_literal(value)})")
        else:
            sets.append(f"{name} = {ps_literal(value)}")
    return "; ".join(sets), "; ".join(clears)


def _update_command(upn: str, fields: dict) -> str | None:
    sets, clears = _graph_body(fields)
    commands = []
    if sets:
        commands.append(f"Update-MgUser -UserId {ps_literal(upn)} -BodyParameter @{{ {sets} }}")
    if clears:
        # The SDK cannot send null (msgraph-sdk-powershell#2087): a raw PATCH clears.
        commands.append(f"Clear-UserProperty {ps_literal(upn)} @{{ {clears} }}")
    return "; ".join(commands) or None


def _user_commands(rows: pd.DataFrame, fields: list[dict]) -> pd.DataFrame:
    commands = [_update_command(key, f) for key, f in zip(rows["key"], fields, strict=True)]
    out = pd.DataFrame({"key": rows["key"].to_numpy(), "command": commands})
    return out[out["command"].notna()]


def _created_user_extras(plan, tenant: pd.DataFrame) -> list[str]:
    keys = tenant.loc[tenant["change"].eq("create_user") & tenant["entity"].eq("user"), "key"]
    users = plan.planned.users
    users = users.set_axis(lower(users["user_principal_name"]))
    extras = users.loc[~users.index.duplicated()].reindex(keys.to_numpy())
    extras = extras.loc[extras[list(NOT_IN_CREATE_TEMPLATE)].notna().any(axis=1).to_numpy()]
    if extras.empty:
        return []
    fields = extras[list(NOT_IN_CREATE_TEMPLATE)].astype(object)
    fields = [{k: v for k, v in f.items() if isinstance(v, str)} for f in fields.to_dict("records")]
    rows = _user_commands(pd.DataFrame({"key": extras.index}), fields)
    lines = _call("complete_created_user", rows["key"], rows["command"])
    return _section("Created users: fields the bulk-create template has no column for", lines)


def _user_updates(plan, tenant: pd.DataFrame) -> list[str]:
    updates = tenant[tenant["change"].eq("update_user") & tenant["entity"].eq("user")]
    rows = _user_commands(updates, _parsed(updates["after"]))
    lines = _call("update_user", rows["key"], rows["command"])
    # R15: before any license assignment below.
    return _section("User updates (usage location before licenses: R15)", lines)


# -- licenses -------------------------------------------------------------------------------


def _licenses(tenant: pd.DataFrame, change: str) -> list[str]:
    rows = tenant[tenant["change"].eq(change) & tenant["entity"].eq("license")]
    parts = rows["key"].str.split("|", n=1, expand=True).reindex(columns=[0, 1])
    upn, sku = ps_quote(parts[0]), ps_quote(parts[1])
    if change == "assign_license":
        args = " -AddLicenses @(@{SkuId = (Get-SkuId " + sku + ")}) -RemoveLicenses @()"
        title = "License assignments"
    else:
        args = " -AddLicenses @() -RemoveLicenses @(Get-SkuId " + sku + ")"
        title = "License removals (first, so seats are free: R14)"
    commands = "Set-MgUserLicense -UserId " + upn + args
    return _section(title, _call(change, rows["key"], commands))


# -- groups in groups -----------------------------------------------------------------------


def _nested_memberships(plan, tenant: pd.DataFrame) -> list[str]:
    rows = membership_changes(plan, tenant)
    rows = rows[rows["member_is_group"]]
    group, member = ps_quote(rows["group"]), ps_quote(rows["member"])
    ids = " -GroupId (Get-GroupId " + group + ") -DirectoryObjectId (Get-GroupId " + member + ")"
    verb = rows["change"].map(
        {
            "add_member": "New-MgGroupMember",
            "remove_member": "Remove-MgGroupMemberDirectoryObjectByRef",
        }
    )
    lines = []
    for change in ("remove_member", "add_member"):
        hit = rows["change"].eq(change)
        lines += _call(change, rows.loc[hit, "key"], verb[hit] + ids[hit])
    return _section("Groups as group members (the portal files take users only)", lines)


# -- environments ---------------------------------------------------------------------------


def sync_rows(plan, environment: pd.DataFrame) -> pd.DataFrame:
    """New and re-enabled environment users to force-sync: interactive ones (application
    users are added in the admin center; stubs are never synchronized, R12)."""
    rows = environment[
        environment["entity"].eq("environment_user")
        & environment["change"].isin(("create_user", "enable_user"))
    ]
    users = plan.planned.environment_users
    kinds = users.set_axis(users["environment"] + "|" + lower(users["user_name"]))["user_type"]
    kinds = kinds.loc[~kinds.index.duplicated()]
    kind = (rows["environment"] + "|" + lower(rows["key"])).map(kinds)
    return rows[kind.eq("interactive").fillna(True).to_numpy()]


def _syncs(plan, environment: pd.DataFrame) -> list[str]:
    rows = sync_rows(plan, environment).drop_duplicates(["environment", "key"])
    commands = "Sync-EnvironmentUser " + ps_quote(rows["environment"]) + " " + ps_quote(rows["key"])
    lines = _call("sync_user", rows["environment"] + "|" + rows["key"], commands)
    return _section("Force-sync users into their environments (after licenses and groups)", lines)


# -- by hand --------------------------------------------------------------------------------


def _by_hand(plan, tenant: pd.DataFrame, environment: pd.DataFrame) -> list[str]:
    """The comment block: what the admin does in the admin centers."""
    lines = ["# " + "=" * 88, "# BY HAND: no supported cmdlet does these simply.", "#"]
    lines += _roles_by_hand(environment)
    lines += _environment_users_by_hand(plan, environment)
    lines += _tenant_by_hand(plan, tenant)
    return lines + ["# " + "=" * 88]


def _roles_by_hand(environment: pd.DataFrame) -> list[str]:
    rows = environment[environment["entity"].eq("role")]
    if rows.empty:
        return []
    parts = rows["key"].str.split("|", n=2, expand=True).reindex(columns=[0, 1, 2])
    line = (
        "#   " + rows["change"].str.pad(12, side="right") + comment_safe(parts[2])
        + "  for  " + comment_safe(parts[1])
        + rows["rule"].eq("R12").fillna(False).map({True: STUB_ROLE_NOTE, False: ""})
    )  # fmt: skip
    out = [
        "# Security roles: Power Platform admin center > Manage > Environments",
        "#   > <environment> > Settings > Users + permissions > Users > <user>",
        "#   > Manage security roles.",
    ]
    for env, part in line.groupby(rows["environment"], sort=False):
        out += [
            "#",
            "# Environment " + comment_safe(pd.Series([env])).iloc[0] + ":",
            *part.tolist(),
        ]
    return out + ["#"]


def _environment_users_by_hand(plan, environment: pd.DataFrame) -> list[str]:
    users = environment[environment["entity"].eq("environment_user")]
    wanted = {
        "set_access_mode": "access mode (admin center > user > Manage user in Dynamics 365)",
        "update_primary_email": "primary email (R3: sync does not overwrite it)",
        "invitation_required": "re-enabled: send a new invitation (R6)",
    }
    rows = users[users["change"].isin(list(wanted))]
    apps = users[users["change"].eq("create_user")]
    apps = apps[~apps.index.isin(sync_rows(plan, environment).index)]
    out = []
    if not rows.empty:
        detail = rows["after"].fillna("").map(lambda t: f"  {t}" if t else "")
        out += ["# Environment users:"] + (
            "#   " + comment_safe(rows["environment"]) + "  " + comment_safe(rows["key"]) + "  "
            + rows["change"].map(wanted) + comment_safe(detail)
        ).tolist() + ["#"]  # fmt: skip
    if not apps.empty:
        out += [
            "# Application users to add: admin center > environment > Settings > Application users:"
        ]
        out += (
            "#   " + comment_safe(apps["environment"]) + "  " + comment_safe(apps["key"])
        ).tolist()
        out += ["#"]
    return out


def _tenant_by_hand(plan, tenant: pd.DataFrame) -> list[str]:
    users = tenant[tenant["entity"].eq("user")]
    updates = users[users["change"].eq("update_user")]
    after, before = _parsed(updates["after"]), _parsed(updates["before"])
    out = _admin_roles_by_hand(plan, users, updates, after, before)
    # update_user rows with no Graph property to set (access mode, user type, application
    # id, admin role): the environment-level changes or the admin roles above carry them.
    bare = pd.Series([not any(k in GRAPH_PROPERTIES for k in f) for f in after], dtype=bool)
    bare = updates[bare.to_numpy()]
    if not bare.empty:
        out += ["# User updates with nothing to send to Graph (see the changes above):"]
        out += (
            "#   update_user  " + comment_safe(bare["key"]) + "  " + comment_safe(bare["after"])
        ).tolist()
        out += ["#"]
    return out


def _admin_roles_by_hand(plan, users, updates, after, before) -> list[str]:
    """R9 admin roles are Entra directory roles, assigned in the Entra admin center."""
    created = users.loc[users["change"].eq("create_user"), "key"]
    planned = plan.planned.users.set_axis(lower(plan.planned.users["user_principal_name"]))
    planned = planned.loc[~planned.index.duplicated(), "admin_role"]
    roles = planned.reindex(created.to_numpy()).dropna()
    pairs = list(zip(roles.index, "assign " + roles.map(_entra_role), strict=True))
    for key, new, old in zip(updates["key"], after, before, strict=True):
        if old.get("admin_role"):
            pairs.append((key, "remove " + _entra_role(old["admin_role"])))
        if new.get("admin_role"):
            pairs.append((key, "assign " + _entra_role(new["admin_role"])))
    if not pairs:
        return []
    keys, lines = (pd.Series(column, dtype="str") for column in zip(*pairs, strict=True))
    return [
        "# Entra admin roles (R9): Entra admin center > Roles & admins > <role> > Assignments:",
        *("#   " + comment_safe(lines) + "  for  " + comment_safe(keys)).tolist(),
        "#",
    ]


def _entra_role(admin_role: str) -> str:
    return ENTRA_ROLES.get(admin_role, admin_role)


# -- fixed text -----------------------------------------------------------------------------


def _preamble(syncs: bool) -> str:
    modules = (
        "Microsoft.Graph.Authentication, Microsoft.Graph.Users, Microsoft.Graph.Users.Actions, "
    )
    modules += "Microsoft.Graph.Identity.DirectoryManagement, Microsoft.Graph.Groups"
    if syncs:
        modules += ", Microsoft.PowerApps.Administration.PowerShell"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _PREAMBLE.replace("@MODULES@", modules).replace("@STAMP@", stamp)


_PREAMBLE = r"""#Requires -Modules @MODULES@
<#
.SYNOPSIS
    Carries the changes userbatch applied into Entra ID and the Power Platform.
.DESCRIPTION
    Generated by userbatch at @STAMP@. Run after the Entra bulk-create and group-member
    uploads (see README.txt), first with -WhatIf to see every change, then without.
    Sign in first:
        Connect-MgGraph -Scopes 'User.ReadWrite.All', 'Organization.Read.All',
            'GroupMember.ReadWrite.All'
        Add-PowerAppsAccount    # only when the script syncs environment users
    One line is written per change; changes that fail are warned about and the script
    exits 1 at the end. Throttled calls (HTTP 429) are retried with back-off.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # Attempts per change when Microsoft Graph throttles (HTTP 429 TooManyRequests).
    [int] $MaxAttempts = 6
)

$ErrorActionPreference = 'Stop'
$script:Failures = 0
$script:SkuIds = $null
$script:Ids = @{}

function Get-ErrorResponse {
    param([System.Management.Automation.ErrorRecord] $ErrorRecord)
    $exception = $ErrorRecord.Exception
    if ($null -ne $exception -and $exception.PSObject.Properties['Response']) {
        return $exception.Response
    }
    return $null
}

function Test-Throttled {
    param([System.Management.Automation.ErrorRecord] $ErrorRecord)
    $response = Get-ErrorResponse $ErrorRecord
    if ($null -ne $response -and [int] $response.StatusCode -eq 429) { return $true }
    $text = '{0} {1}' -f $ErrorRecord.FullyQualifiedErrorId, $ErrorRecord.Exception.Message
    return $text -match 'TooManyRequests|\b429\b'
}

function Get-RetryDelay {
    param([System.Management.Automation.ErrorRecord] $ErrorRecord, [int] $Attempt)
    $response = Get-ErrorResponse $ErrorRecord
    if ($null -ne $response -and $response.PSObject.Properties['Headers']) {
        $after = $response.Headers.RetryAfter
        if ($null -ne $after -and $null -ne $after.Delta) {
            return [math]::Ceiling($after.Delta.TotalSeconds)
        }
        if ($null -ne $after -and $null -ne $after.Date) {
            $left = ($after.Date - [DateTimeOffset]::UtcNow).TotalSeconds
            return [math]::Max(1, [math]::Ceiling($left))
        }
        $seconds = 0
        if ($response.Headers -is [System.Net.WebHeaderCollection] -and
            [int]::TryParse($response.Headers['Retry-After'], [ref] $seconds)) { return $seconds }
    }
    return [math]::Min(120, [math]::Pow(2, $Attempt))
}

function Invoke-WithRetry {
    param([Parameter(Mandatory)] [scriptblock] $Action)
    for ($attempt = 1; ; $attempt++) {
        try {
            return (& $Action)
        }
        catch {
            if ($attempt -ge $MaxAttempts -or -not (Test-Throttled $_)) { throw }
            $seconds = Get-RetryDelay $_ $attempt
            $message = 'throttled: retrying in {0} s (attempt {1} of {2})'
            Write-Verbose ($message -f $seconds, $attempt, $MaxAttempts)
            Start-Sleep -Seconds $seconds
        }
    }
}

function Invoke-Change {
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)] [string] $Change,
        [Parameter(Mandatory)] [string] $Key,
        [Parameter(Mandatory)] [scriptblock] $Action
    )
    if (-not $PSCmdlet.ShouldProcess($Key, $Change)) { return }
    try {
        Invoke-WithRetry -Action $Action | Out-Null
        Write-Output ('{0} {1}: done' -f $Change, $Key)
    }
    catch {
        $script:Failures++
        Write-Warning ('{0} {1}: failed: {2}' -f $Change, $Key, $_.Exception.Message)
    }
}

function Get-SkuId {
    param([Parameter(Mandatory)] [string] $PartNumber)
    if ($null -eq $script:SkuIds) {
        # Once per run: SKU part number -> skuId of the tenant's subscriptions.
        $script:SkuIds = @{}
        Get-MgSubscribedSku -All | ForEach-Object { $script:SkuIds[$_.SkuPartNumber] = $_.SkuId }
    }
    if (-not $script:SkuIds.ContainsKey($PartNumber)) {
        throw ('the tenant has no subscription to {0}' -f $PartNumber)
    }
    return $script:SkuIds[$PartNumber]
}

function Get-UserObjectId {
    param([Parameter(Mandatory)] [string] $UserPrincipalName)
    $cacheKey = 'user:' + $UserPrincipalName.ToLowerInvariant()
    if (-not $script:Ids.ContainsKey($cacheKey)) {
        $script:Ids[$cacheKey] = (Get-MgUser -UserId $UserPrincipalName -Property Id).Id
    }
    return $script:Ids[$cacheKey]
}

function Get-GroupId {
    param([Parameter(Mandatory)] [string] $Name)
    $cacheKey = 'group:' + $Name.ToLowerInvariant()
    if (-not $script:Ids.ContainsKey($cacheKey)) {
        $filter = "displayName eq '{0}'" -f $Name.Replace("'", "''")
        $found = @(Get-MgGroup -Filter $filter -All)
        if ($found.Count -ne 1) { throw ('{0} groups are named {1}' -f $found.Count, $Name) }
        $script:Ids[$cacheKey] = $found[0].Id
    }
    return $script:Ids[$cacheKey]
}

function Get-EnvironmentId {
    param([Parameter(Mandatory)] [string] $Name)
    $cacheKey = 'environment:' + $Name.ToLowerInvariant()
    if (-not $script:Ids.ContainsKey($cacheKey)) {
        $found = @(Get-AdminPowerAppEnvironment |
            Where-Object { $_.DisplayName -eq $Name -or $_.EnvironmentName -eq $Name })
        if ($found.Count -ne 1) { throw ('{0} environments are named {1}' -f $found.Count, $Name) }
        $script:Ids[$cacheKey] = $found[0].EnvironmentName
    }
    return $script:Ids[$cacheKey]
}

function Clear-UserProperty {
    param(
        [Parameter(Mandatory)] [string] $UserPrincipalName,
        [Parameter(Mandatory)] [hashtable] $Body
    )
    $uri = 'https://graph.microsoft.com/v1.0/users/' + [uri]::EscapeDataString($UserPrincipalName)
    $json = $Body | ConvertTo-Json -Compress
    Invoke-MgGraphRequest -Method PATCH -Uri $uri -Body $json -ContentType 'application/json'
}

function Sync-EnvironmentUser {
    param(
        [Parameter(Mandatory)] [string] $Environment,
        [Parameter(Mandatory)] [string] $UserPrincipalName
    )
    $envId = Get-EnvironmentId $Environment
    $objectId = Get-UserObjectId $UserPrincipalName
    $result = Add-AdminPowerAppsSyncUser -EnvironmentName $envId -PrincipalObjectId $objectId
    # The admin module reports some failures in its result rather than throwing.
    if ($null -ne $result -and $result.PSObject.Properties['Code'] -and
        [int] $result.Code -ge 400) {
        throw ('sync refused ({0}): {1}' -f $result.Code, $result.Error)
    }
}
"""

_EPILOGUE = r"""
if ($script:Failures -gt 0) {
    $message = '{0} changes failed (see the warnings above): fix them and run those again'
    Write-Warning ($message -f $script:Failures)
    exit 1
}
"""
