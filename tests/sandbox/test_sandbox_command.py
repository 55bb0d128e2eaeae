"""`slaguard sandbox` as a user runs it: URLs and tokens printed, both emulators answering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from app.cli import cli

SLAGUARD = Path(sys.executable).with_name("slaguard")


def _start(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [str(SLAGUARD), "sandbox", "--port", "0", "--contacts", "200", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    printed: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        # Credentials print as NAME=value, servers as "Label: URL"; uvicorn's own lines vary.
        text = line.strip()
        name, sep, value = text.partition(": ") if ": " in text else text.partition("=")
        if sep:
            printed[name] = value
        if name == "Sandbox control":
            break
    return process, printed


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "SLACK_"))}
    return {**env, "DATABASE_URL": "sqlite:///:memory:", **extra}


def test_sandbox_prints_urls_and_its_own_tokens_which_work():
    process, printed = _start("--tick-seconds", "0", env=_env())
    try:
        hubspot = printed["HubSpot API"]
        assert printed["Slack API"] == f"{hubspot}/api/"
        answer = httpx.get(
            f"{hubspot}/crm/v3/objects/contacts",
            headers={"Authorization": f"Bearer {printed['HUBSPOT_ACCESS_TOKEN']}"},
        )
        assert answer.status_code == 200 and answer.json()["results"]
        slack = httpx.post(
            f"{printed['Slack API']}auth.test",
            headers={"Authorization": f"Bearer {printed['SLACK_BOT_TOKEN']}"},
        )
        assert slack.json()["ok"] is True
        assert httpx.get(printed["Slack messages"]).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sandbox_takes_tokens_from_the_environment_and_does_not_echo_them():
    env = _env(HUBSPOT_ACCESS_TOKEN="pat-na1-from-env", SLACK_BOT_TOKEN="xoxb-from-env")
    process, printed = _start("--tick-seconds", "0", env=env)
    try:
        assert "HUBSPOT_ACCESS_TOKEN" not in printed and "SLACK_BOT_TOKEN" not in printed
        answer = httpx.get(
            f"{printed['HubSpot API']}/crm/v3/owners",
            headers={"Authorization": "Bearer pat-na1-from-env"},
        )
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sandbox_refuses_a_portal_size_out_of_range():
    result = CliRunner().invoke(cli, ["sandbox", "--contacts", "5"])
    assert result.exit_code == 1
    assert "--contacts must be between 100 and 1,000,000" in result.output
