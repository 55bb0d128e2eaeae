"""Block Kit checks: what Slack refuses with invalid_blocks, and what it lets through."""

from __future__ import annotations

from sandbox.slack.blocks import block_errors


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_the_blocks_an_alert_uses_are_accepted() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "First touch breached"}},
        section("*Jane Roe* — owner <@U123>"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Due*\n10:00"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "rule: first-touch"}]},
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "action_id": "ack",
                    "style": "primary",
                    "value": "alert-1",
                }
            ],
        },
    ]

    assert block_errors(blocks) == []


def test_slacks_limits_are_enforced_with_json_pointers() -> None:
    long_header = {"type": "header", "text": {"type": "mrkdwn", "text": "x" * 151}}
    too_many_fields = {
        "type": "section",
        "fields": [{"type": "plain_text", "text": "f"} for _ in range(11)],
    }
    bad_button = {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "x"}, "style": "red"}
        ],
    }

    assert block_errors([long_header]) == [
        "must be one of plain_text [json-pointer:/blocks/0/text/type]",
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
    ]
    assert block_errors([too_many_fields]) == [
        "must provide between 1 and 10 items [json-pointer:/blocks/0/fields]"
    ]
    assert block_errors([bad_button]) == [
        "must be one of primary, danger [json-pointer:/blocks/0/elements/0/style]"
    ]
    assert block_errors([section("x")] * 51) == [
        "must provide at most 50 items [json-pointer:/blocks]"
    ]
    assert block_errors([{"type": "section"}]) == [
        "must provide either text or fields [json-pointer:/blocks/0]"
    ]
    assert block_errors(["divider"]) == ["must be an object [json-pointer:/blocks/0]"]
