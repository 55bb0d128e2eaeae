"""Request bodies and tokens the way Slack reads them, sent without slack_sdk."""

from __future__ import annotations

import json

import httpx

from sandbox.slack import SlackEmulatorState


def test_a_form_body_may_carry_the_token(slack_url: str, bot_token: str) -> None:
    answer = httpx.post(
        f"{slack_url}/api/chat.postMessage",
        data={"token": bot_token, "channel": "sales", "text": "from a form"},
    )

    assert answer.status_code == 200
    assert answer.json()["ok"] is True
    assert answer.headers["content-type"].startswith("application/json")


def test_form_blocks_are_a_json_string_and_bad_json_is_invalid_blocks_format(
    slack_url: str, bot_token: str, slack_state: SlackEmulatorState
) -> None:
    headers = {"Authorization": f"Bearer {bot_token}"}
    blocks = [{"type": "divider"}]
    good = httpx.post(
        f"{slack_url}/api/chat.postMessage",
        headers=headers,
        data={"channel": "sales", "text": "t", "blocks": json.dumps(blocks)},
    )
    bad = httpx.post(
        f"{slack_url}/api/chat.postMessage",
        headers=headers,
        data={"channel": "sales", "text": "t", "blocks": "[{not json"},
    )

    assert good.json()["ok"] is True
    assert slack_state.messages("sales")[0].blocks == blocks
    assert bad.json() == {"ok": False, "error": "invalid_blocks_format"}


def test_a_token_inside_a_json_body_is_not_accepted(slack_url: str, bot_token: str) -> None:
    answer = httpx.post(f"{slack_url}/api/auth.test", json={"token": bot_token})

    assert answer.status_code == 200
    assert answer.json() == {"ok": False, "error": "not_authed"}


def test_json_without_a_charset_works_with_slacks_warning(slack_url: str, bot_token: str) -> None:
    answer = httpx.post(
        f"{slack_url}/api/chat.postMessage",
        headers={"Authorization": f"Bearer {bot_token}", "Content-Type": "application/json"},
        content=json.dumps({"channel": "sales", "text": "hi"}),
    )

    assert answer.json()["ok"] is True
    assert answer.json()["response_metadata"] == {"warnings": ["missing_charset"]}


def test_bad_bodies_and_unknown_methods_get_slacks_errors(slack_url: str, bot_token: str) -> None:
    headers = {"Authorization": f"Bearer {bot_token}", "Content-Type": "application/json"}
    broken = httpx.post(f"{slack_url}/api/auth.test", headers=headers, content=b"{oops")
    not_object = httpx.post(f"{slack_url}/api/auth.test", headers=headers, content=b"[1]")
    unknown = httpx.post(f"{slack_url}/api/chat.scheduleMessage", headers=headers)

    assert broken.json() == {"ok": False, "error": "invalid_json"}
    assert not_object.json() == {"ok": False, "error": "json_not_object"}
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_method"


def test_read_methods_answer_get_with_query_arguments(slack_url: str, bot_token: str) -> None:
    answer = httpx.get(
        f"{slack_url}/api/users.lookupByEmail",
        params={"email": "ada.lovelace@example.com", "token": bot_token},
    )

    assert answer.json()["user"]["real_name"] == "Ada Lovelace"
