"""POST /slack/actions: the alert buttons (Acknowledge, Snooze 1 h, Snooze until tomorrow).

Slack signs every interactivity request (`X-Slack-Signature`, `X-Slack-Request-Timestamp`);
slack_sdk's `SignatureVerifier` checks it with the signing secret and a 5-minute window, and
anything unsigned, forged or stale gets 401 before the body is looked at. The action is
recorded through the app's `SlackActions` (`app.state.slack_actions`) before the answer, so a
click is never lost; rewriting the message to show who acted happens after the answer, since
Slack wants one within 3 seconds.

The body is Slack's form with a JSON `payload`, which OpenAPI cannot describe usefully and
which only Slack sends, so the route stays out of the schema.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier

from alerts.delivery import SlackActions
from alerts.messages import ACK_ACTION, SNOOZE_HOUR_ACTION, SNOOZE_MORNING_ACTION
from app.config import Settings
from integrations.slack import SlackClient, SlackError

log = logging.getLogger(__name__)
router = APIRouter(tags=["slack"])

MAX_BODY_BYTES = 64 * 1024
MORNING_HOUR = 9
_BUTTONS = (ACK_ACTION, SNOOZE_HOUR_ACTION, SNOOZE_MORNING_ACTION)


@dataclass(frozen=True, slots=True)
class ButtonClick:
    action_id: str
    instance_id: int
    slack_user: str
    channel: str | None
    message_ts: str | None
    message: dict[str, Any]


class BadPayload(ValueError):  # noqa: N818 (a reason for a 400, not an error of ours)
    pass


def slack_client_from(settings: Settings) -> SlackClient | None:
    """The bot's client when a token is configured (it shows button clicks on the messages)."""
    if settings.slack_bot_token is None:
        return None
    return SlackClient(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)


def tomorrow_morning(at: datetime, zone: ZoneInfo, hour: int = MORNING_HOUR) -> datetime:
    """`hour` o'clock on the day after `at`, in `zone`, as a UTC time."""
    local = at.astimezone(zone)
    morning = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return morning.replace(hour=hour).astimezone(UTC)


def _refusal(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def _verified(secret: str, body: bytes, request: Request) -> bool:
    try:
        return SignatureVerifier(secret).is_valid_request(body, dict(request.headers))
    except (ValueError, UnicodeDecodeError):  # a timestamp that is no number, a body no text
        return False


def parse_clicks(body: bytes) -> list[ButtonClick]:
    """The alert buttons clicked in a `block_actions` payload; other interactions give none."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError) as error:
        raise BadPayload("the body is not Slack's form with a JSON payload") from error
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return []
    user = (payload.get("user") or {}).get("id")
    if not isinstance(user, str) or not user:
        raise BadPayload("the payload names no Slack user")
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    clicks = []
    for action in payload.get("actions") or []:
        if not isinstance(action, dict) or action.get("action_id") not in _BUTTONS:
            continue  # "Open in HubSpot" is a link: Slack reports it, nothing to do
        value = str(action.get("value") or "")
        if not value.isdigit():
            raise BadPayload("a button's value is not an SLA instance id")
        clicks.append(
            ButtonClick(
                action_id=str(action["action_id"]),
                instance_id=int(value),
                slack_user=user,
                channel=container.get("channel_id"),
                message_ts=container.get("message_ts"),
                message=message if isinstance(message, dict) else {},
            )
        )
    return clicks


def record(
    actions: SlackActions, click: ButtonClick, at: datetime, zone: ZoneInfo
) -> datetime | None:
    """Records the click; the end of the snooze it started, if any."""
    if click.action_id == ACK_ACTION:
        actions.acknowledge(click.instance_id, click.slack_user, at)
        return None
    until = at + timedelta(hours=1)
    if click.action_id == SNOOZE_MORNING_ACTION:
        until = tomorrow_morning(at, zone)
    actions.snooze(click.instance_id, click.slack_user, until, at)
    return until


def _note(click: ButtonClick, at: datetime, until: datetime | None) -> str:
    def when(moment: datetime) -> str:
        fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
        return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"

    if until is None:
        return f":ballot_box_with_check: Acknowledged by <@{click.slack_user}> {when(at)}"
    return f":zzz: Snoozed by <@{click.slack_user}> until {when(until)}"


def show_on_message(client: SlackClient, click: ButtonClick, note: str) -> None:
    """Rewrites the clicked message: its buttons give way to who did what and when."""
    if not click.channel or not click.message_ts:
        return
    blocks = [
        block
        for block in click.message.get("blocks") or []
        if isinstance(block, dict) and block.get("type") != "actions"
    ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    text = str(click.message.get("text") or note)
    try:
        client.update_message(click.channel, click.message_ts, text, blocks=blocks)
    except SlackError as error:  # the click is recorded; only its display is missing
        log.warning("could not show a button click on its Slack message: %s", error)


@router.post("/slack/actions", include_in_schema=False)
async def slack_actions(request: Request, background: BackgroundTasks) -> Response:
    settings = request.app.state.settings
    if settings.slack_signing_secret is None:
        return _refusal(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Slack buttons are off: set SLACK_SIGNING_SECRET to the Slack app's signing secret",
        )
    actions: SlackActions | None = getattr(request.app.state, "slack_actions", None)
    if actions is None:
        return _refusal(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Slack buttons are not connected to the store"
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _refusal(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "the request is too large")
    if not _verified(settings.slack_signing_secret.get_secret_value(), body, request):
        return _refusal(
            status.HTTP_401_UNAUTHORIZED, "the Slack signature is missing, wrong or too old"
        )
    try:
        clicks = parse_clicks(body)
    except BadPayload as error:
        return _refusal(status.HTTP_400_BAD_REQUEST, str(error))
    at = datetime.now(UTC)
    zone: ZoneInfo = getattr(request.app.state, "slack_morning_zone", ZoneInfo("UTC"))
    client: SlackClient | None = getattr(request.app.state, "slack_client", None)
    for click in clicks:
        until = await run_in_threadpool(record, actions, click, at, zone)
        if client is not None:
            background.add_task(show_on_message, client, click, _note(click, at, until))
    return Response(status_code=status.HTTP_200_OK)
