"""Emit (issue 6): the PowerShell script, checked with the tree-sitter PowerShell grammar
(pwsh cannot be installed here): it parses without error, and each change is its command."""

from dataclasses import dataclass, field

import pytest

from tests.engine.helpers import changes, make_store
from tests.test_emit_entra import emit

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_powershell = pytest.importorskip("tree_sitter_powershell")

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
QUOTES = "'\u2018\u2019\u201a\u201b"


@dataclass
class Command:
    name: str
    positional: list[str] = field(default_factory=list)  # string literal arguments
    params: dict[str, str] = field(default_factory=dict)  # -Name -> argument source text
    strings: list[str] = field(default_factory=list)  # every string literal inside, unquoted
    line: int = 0


def unquote(literal: str) -> str:
    inner, out, i = literal[1:-1], [], 0
    while i < len(inner):  # PowerShell: a doubled quote stands for one
        out.append(inner[i])
        i += 2 if inner[i] in QUOTES and i + 1 < len(inner) and inner[i + 1] in QUOTES else 1
    return "".join(out)


def parse_script(path) -> list[Command]:
    """Every command of the script; fails on any ERROR or MISSING node."""
    tree = PARSER.parse(path.read_text(encoding="utf-8-sig").encode())
    commands, broken = [], []

    def walk(node):
        if node.is_error or node.is_missing:
            broken.append((node.start_point, node.text[:80]))
        if node.type == "command":
            commands.append(_command(node))
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    assert not broken, broken
    return commands


def _strings(node) -> list[str]:
    if node.type == "verbatim_string_characters":
        return [unquote(node.text.decode())]
    return [s for child in node.children for s in _strings(child)]


def _command(node) -> Command:
    name = node.child_by_field_name("command_name") or node.children[0]
    command = Command(name.text.decode(), strings=_strings(node), line=node.start_point[0])
    elements = next((c for c in node.children if c.type == "command_elements"), None)
    parts = [c for c in (elements.children if elements else []) if c.type != "command_argument_sep"]
    pending = None
    for part in parts:
        if part.type == "command_parameter":
            pending = part.text.decode()
            command.params[pending] = ""
        elif pending:
            command.params[pending], pending = part.text.decode(), None
        elif part.text.startswith(b"'"):
            command.positional.append(unquote(part.text.decode()))
    return command


def named(commands, name):
    return [c for c in commands if c.name.lower() == name.lower()]


ONBOARD = dict(
    users="""
        user_principal_name,first_name,last_name,usage_location,job_title
        ann@contoso.example,Ann,Lee,US,Rep
        bob@contoso.example,Bob,O'Ray,US,Rep
    """,
    licenses="user_principal_name,sku,action\nann@contoso.example,SALES,\nbob@contoso.example,MAIL,\n",
    memberships="group,member\nSG-Sales,ann@contoso.example\nSG-Sales,bob@contoso.example\n",
    roles="user_principal_name,role\nann@contoso.example,Salesperson\n",
)


def script_of(paths):
    return next(p for p in paths if p.name == "userbatch-changes.ps1")


def test_script_parses_and_each_license_change_is_a_set_mguserlicense_call(tmp_path):
    state = make_store(
        tmp_path,
        users="user_principal_name,usage_location\nold@contoso.example,US\n",
        licenses="user_principal_name,sku\nold@contoso.example,SALES\n",
    )
    result, paths = emit(
        tmp_path,
        state,
        **{**ONBOARD, "licenses": ONBOARD["licenses"] + "old@contoso.example,SALES,remove\n"},
    )
    calls = named(parse_script(script_of(paths)), "Set-MgUserLicense")
    planned = changes(result, entity="license")
    assert len(calls) == len(planned) == 3
    for change, key in zip(planned["change"], planned["key"], strict=True):
        upn, sku = key.split("|")
        param = "-AddLicenses" if change == "assign_license" else "-RemoveLicenses"
        hits = [c for c in calls if upn in c.strings and f"'{sku}'" in c.params[param]]
        assert len(hits) == 1, (change, key)
        other = "-RemoveLicenses" if param == "-AddLicenses" else "-AddLicenses"
        assert hits[0].params[other] == "@()"


def test_each_new_environment_user_is_force_synced_into_its_environment(tmp_path):
    result, paths = emit(tmp_path, make_store(tmp_path), **ONBOARD)
    commands = parse_script(script_of(paths))
    synced = {tuple(c.positional) for c in named(commands, "Sync-EnvironmentUser")}
    created = changes(result, "create_user", "environment_user")
    assert len(created) == 2
    assert synced == set(zip(created["environment"], created["key"], strict=True))
    # The helper it calls is Microsoft's cmdlet.
    assert named(commands, "Add-AdminPowerAppsSyncUser")


def test_usage_location_is_set_before_licenses_are_assigned_r15(tmp_path):
    state = make_store(tmp_path, users="user_principal_name\nann@contoso.example\n")
    _, paths = emit(
        tmp_path, state,
        users="user_principal_name,usage_location\nann@contoso.example,GB\n",
        licenses="user_principal_name,sku\nann@contoso.example,SALES\n",
    )  # fmt: skip
    commands = parse_script(script_of(paths))
    update = named(commands, "Update-MgUser")
    license_calls = named(commands, "Set-MgUserLicense")
    assert len(update) == 1 and "usageLocation = 'GB'" in update[0].params["-BodyParameter"]
    assert update[0].line < license_calls[0].line


def test_a_cleared_field_is_patched_to_null(tmp_path):
    state = make_store(
        tmp_path, users="user_principal_name,job_title,city\nann@contoso.example,Rep,Oslo\n"
    )
    users = "user_principal_name,job_title,city\nann@contoso.example,(clear),Bergen\n"
    _, paths = emit(tmp_path, state, users=users)
    commands = parse_script(script_of(paths))
    (update,) = named(commands, "Update-MgUser")
    assert update.params["-BodyParameter"] == "@{ city = 'Bergen' }"
    (clear,) = named(commands, "Clear-UserProperty")
    assert clear.positional == ["ann@contoso.example"]
    assert "jobTitle = $null" in clear.strings or "jobTitle = $null" in script_of(paths).read_text(
        "utf-8-sig"
    )


HOSTILE = "x'; Remove-Item -Recurse C:\\; '\u2019; Remove-Item D:\\; \u2019$(Remove-Item E:\\)"


def test_no_value_can_inject_code_into_the_script(tmp_path):
    state = make_store(
        tmp_path, users="user_principal_name,street_address\nann@contoso.example,Rep\n"
    )
    _, paths = emit(
        tmp_path, state,
        users=f'user_principal_name,street_address\nann@contoso.example,"{HOSTILE}"\n',
        records='table,record_id,owner\naccount,A-1,"Mallory\r\nRemove-Item F:\\"\n',
        env="sales",
    )  # fmt: skip
    commands = parse_script(script_of(paths))
    assert not named(commands, "Remove-Item")
    (update,) = named(commands, "Update-MgUser")
    assert HOSTILE in update.strings  # the value arrives whole, as data


def test_role_changes_are_listed_per_environment_for_the_admin(tmp_path):
    result, paths = emit(tmp_path, make_store(tmp_path), **ONBOARD)
    text = script_of(paths).read_text(encoding="utf-8-sig")
    block = text[text.index("# BY HAND") :]
    assert "# Environment sales:" in block
    for key in changes(result, "assign_role", "role")["key"]:
        _, upn, role = key.split("|")
        assert f"assign_role {role}  for  {upn}" in block
    parse_script(script_of(paths))


def test_script_supports_whatif_and_retries_throttled_calls(tmp_path):
    _, paths = emit(tmp_path, make_store(tmp_path), **ONBOARD)
    text = script_of(paths).read_text(encoding="utf-8-sig")
    assert "[CmdletBinding(SupportsShouldProcess)]" in text
    assert "$PSCmdlet.ShouldProcess($Key, $Change)" in text
    assert "TooManyRequests" in text and "RetryAfter" in text
    commands = parse_script(script_of(paths))
    assert len(named(commands, "Get-MgSubscribedSku")) == 1  # resolved once, cached
    # Every change goes through Invoke-Change: one log line each.
    assert all(len(c.positional) == 2 for c in named(commands, "Invoke-Change"))


def test_blocked_sign_in_and_admin_roles_reach_graph_and_the_by_hand_list_r9(tmp_path):
    state = make_store(
        tmp_path, users="user_principal_name,usage_location\nann@contoso.example,US\n"
    )
    users = """
        user_principal_name,usage_location,sign_in_allowed,admin_role
        ann@contoso.example,US,no,
        root@contoso.example,US,,Global administrator
    """
    _, paths = emit(tmp_path, state, users=users)
    commands = parse_script(script_of(paths))
    (update,) = named(commands, "Update-MgUser")
    assert update.params["-BodyParameter"] == "@{ accountEnabled = $false }"
    text = script_of(paths).read_text(encoding="utf-8-sig")
    assert "#   assign Global Administrator  for  root@contoso.example" in text
