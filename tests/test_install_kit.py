"""The install kit is copy and paste: the Slack app manifest grants every scope the Slack
methods slaguard calls need and points its buttons at the route that answers them, and every
`slaguard …` command the install pages tell a person to type parses with the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from fastapi.testclient import TestClient

from app.cli import cli
from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "slack-app-manifest.yaml"
SLACK_CLIENT = ROOT / "integrations" / "slack" / "client.py"
INSTALL_PAGES = ("connect-your-portal.md", "deployment.md", "hubspot-private-app.md")

# The bot scopes each Slack Web API method needs (Slack's method reference), for the
# conversations slaguard uses: public and private channels and direct messages with one user.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "conversations.open": frozenset({"im:write"}),
    "users.lookupByEmail": frozenset({"users:read", "users:read.email"}),
    "conversations.history": frozenset({"channels:history", "groups:history", "im:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history", "im:history"}),
    "conversations.list": frozenset({"channels:read"}),  # public channels only
}


def _manifest() -> dict[str, object]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _methods_called() -> set[str]:
    """The Web API methods the Slack client calls (every call goes through `_call`)."""
    return set(re.findall(r'_call\(\s*"([a-zA-Z]+\.[a-zA-Z]+)"', SLACK_CLIENT.read_text()))


def test_the_manifest_grants_the_scopes_of_every_slack_method_the_code_calls() -> None:
    called = _methods_called()
    assert {"chat.postMessage", "chat.update", "users.lookupByEmail"} <= called
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"record the scopes of {sorted(unknown)} in METHOD_SCOPES"
    needed = frozenset().union(*(METHOD_SCOPES[m] for m in called))
    granted = set(_manifest()["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    assert needed <= granted, f"missing from the manifest: {sorted(needed - granted)}"
    assert granted <= needed, f"granted but never used: {sorted(granted - needed)}"


def test_the_manifests_buttons_post_to_the_route_that_verifies_them() -> None:
    interactivity = _manifest()["settings"]["interactivity"]  # type: ignore[index]
    assert interactivity["is_enabled"] is True
    url = urlsplit(interactivity["request_url"])
    assert url.scheme == "https"
    settings = Settings(_env_file=None, slack_signing_secret="s" * 32)  # type: ignore[call-arg]
    # Without entering the client, the app's lifespan (store, scheduler) does not start.
    client = TestClient(create_app(settings))
    unsigned = client.post(url.path, data={"payload": "{}"})
    # The buttons' route answers, with its own refusal (unsigned, or no store behind it in
    # this app that never started), not a 404 or 405.
    assert unsigned.status_code in (401, 503), unsigned.text
    assert "Slack" in unsigned.json()["detail"]
    assert client.post(url.path + "-not-there").status_code == 404


def _commands_in(page: str) -> list[str]:
    """`slaguard …` commands in the page's shell blocks and inline code (in a `docker run …
    IMAGE slaguard …` line, the part from the command on)."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("slaguard "):
                found.append(line)
            elif " slaguard slaguard " in line:
                found.append("slaguard " + line.rsplit(" slaguard slaguard ", 1)[1])
    found += re.findall(r"`(slaguard [^`]+)`", text)
    return found


def _parse(command_line: str) -> None:
    """Finds the command through the real CLI's groups and parses its options and arguments
    as the CLI does before running it; a wrong command or flag raises typer's UsageError."""
    args = shlex.split(command_line)[1:]
    name, command = "slaguard", typer.main.get_command(cli)
    context = command.make_context(name, [], resilient_parsing=True)
    while hasattr(command, "get_command"):  # a group: the next word names its command
        assert args and not args[0].startswith("-"), f"{command_line}: no command after {name}"
        name, args = args[0], args[1:]
        found = command.get_command(context, name)
        assert found is not None, f"{command_line}: {name} is not a command"
        command = found
        if hasattr(command, "get_command"):
            context = command.make_context(name, [], parent=context, resilient_parsing=True)
    command.make_context(name, args, parent=context)


@pytest.mark.parametrize("page", INSTALL_PAGES)
def test_every_command_the_install_pages_give_parses_with_the_real_cli(page: str) -> None:
    commands = _commands_in(page)
    if page != "hubspot-private-app.md":
        assert commands, f"{page} names no slaguard command"
    for command_line in commands:
        try:
            _parse(command_line)
        except typer.TyperException as error:
            pytest.fail(f"{page}: `{command_line}` does not parse: {error}")


def test_a_wrong_flag_or_command_is_caught_by_the_parser() -> None:
    with pytest.raises(typer.TyperException, match="No such option"):
        _parse("slaguard sync --fulll")
    with pytest.raises(typer.TyperException, match="Missing"):
        _parse("slaguard rules check")
    with pytest.raises(AssertionError, match="upgrad is not a command"):
        _parse("slaguard db upgrad")


def test_the_connect_page_walks_the_first_steps_in_order() -> None:
    text = (ROOT / "docs" / "connect-your-portal.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    steps = [
        "private app",
        "Configure",
        "schema",
        "full sync",
        "rules",
        "serve",
        "webhook",
        "Slack",
    ]
    assert len(headings) == len(steps)
    for number, (heading, step) in enumerate(zip(headings, steps, strict=True), start=1):
        assert heading.startswith(f"## {number}. ") and step in heading, heading
    for command in ("db upgrade", "sync --full", "rules check", "evaluate", "serve"):
        assert f"slaguard {command}" in text
    positions = [text.find(f"slaguard {c}") for c in ("db upgrade", "sync --full", "rules check")]
    assert positions == sorted(positions)


def test_the_deployment_page_lists_exactly_the_settings_variables() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    table = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}
