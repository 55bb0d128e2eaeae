"""The rules file's `alerts:` section: typed routes out, every problem with its line."""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent

import pytest

from alerts.config import check_alerts
from alerts.model import EventType, Receiver, ReceiverKind
from app.sla.durations import Goal
from app.sla.loader import RulesFileError
from integrations.webhooks.signing import WebhookSecret

SECRET = WebhookSecret.generate()
ENV = {"SLAGUARD_WEBHOOK_SECRET_CRM": SECRET.text()}

GOOD = dedent(
    """\
    rules: []
    alerts:
      group_wait: 45s
      managers:
        1001: [U0ADA, ada.lovelace@example.com]
      webhooks:
        crm:
          url: https://hooks.example.com/slaguard
          secret_env: SLAGUARD_WEBHOOK_SECRET_CRM
          events: [breached, met_late]
      routes:
        - name: reps
          match: {rules: [first-touch], events: [breached], teams: [1001]}
          receivers: [owner, "#sales", "webhook:crm"]
          fallback: ["#sales-managers"]
          continue: true
          repeat: 4h
          escalation:
            - {after: 2h, to: [manager]}
            - {after: 1d, to: "channel:C0SALESMGR"}
        - name: marketing
          match: {kinds: [quota, rate]}
          receivers: "#marketing"
          quiet_hours: true
          group_wait: 2m
    """
)


def test_a_valid_section_becomes_typed_routes() -> None:
    config = check_alerts(GOOD, "sla.yaml", environ=ENV, rule_ids={"first-touch"})

    assert config is not None
    reps, marketing = config.routes
    assert reps.receivers == (
        Receiver(ReceiverKind.OWNER),
        Receiver(ReceiverKind.CHANNEL, "sales"),
        Receiver(ReceiverKind.WEBHOOK, "crm"),
    )
    assert reps.match.event_types == frozenset({EventType.BREACHED})
    assert reps.match.owner_teams == frozenset({"1001"})
    assert reps.continue_matching is True
    assert reps.repeat == Goal(days=0, seconds=4 * 3600)
    assert [step.after for step in reps.escalation] == [Goal(0, 7200), Goal(1, 0)]
    assert reps.escalation[1].receivers == (Receiver(ReceiverKind.CHANNEL, "C0SALESMGR"),)
    assert reps.group_wait == timedelta(seconds=45)
    assert marketing.group_wait == timedelta(minutes=2)
    assert marketing.channels_wait_for_working_hours is True
    assert config.managers == {"1001": ("U0ADA", "ada.lovelace@example.com")}
    assert config.webhook_events == {"crm": frozenset({EventType.BREACHED, EventType.MET_LATE})}
    assert config.webhooks["crm"].secrets(ENV) == (SECRET,)


def test_a_file_without_alerts_has_no_alert_config() -> None:
    assert check_alerts("rules: []\n", environ={}) is None


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(RulesFileError) as raised:
        check_alerts(
            text, "sla.yaml", environ=ENV if environ is None else environ, rule_ids={"first-touch"}
        )
    return [str(problem) for problem in raised.value.problems]


def test_an_unset_secret_variable_fails_and_names_the_variable_and_line() -> None:
    assert problems(GOOD, environ={}) == [
        "sla.yaml, line 9: alerts.webhooks.crm.secret_env: "
        "SLAGUARD_WEBHOOK_SECRET_CRM is not set in the environment"
    ]


def test_a_malformed_secret_fails_without_showing_the_secret() -> None:
    (problem,) = problems(GOOD, environ={"SLAGUARD_WEBHOOK_SECRET_CRM": "hunter2-hunter2"})

    assert "line 9" in problem and "malformed" in problem
    assert "hunter2" not in problem


def test_an_internal_webhook_address_is_refused_unless_allowed() -> None:
    internal = GOOD.replace("https://hooks.example.com/slaguard", "http://10.0.0.8/hook")

    (problem,) = problems(internal)
    assert "line 8: alerts.webhooks.crm.url" in problem
    allowed = {**ENV, "SLAGUARD_WEBHOOKS_ALLOW_PRIVATE": "true"}
    assert check_alerts(internal, environ=allowed) is not None


def test_every_mistake_is_reported_with_its_line_in_one_pass() -> None:
    text = dedent(
        """\
        alerts:
          webhooks:
            crm: {url: https://hooks.example.com/, secret_env: SLAGUARD_WEBHOOK_SECRET_CRM}
          routes:
            - name: reps
              match: {rules: [frist-touch], events: [breeched]}
              receivers: [owner, "webhook:bi"]
              fallback: [owner]
              escalation:
                - {after: 1d, to: [manager]}
                - {after: 2h, to: [manager]}
            - name: reps
              receivers: [someone]
              repaet: 4h
        """
    )
    found = problems(text)

    assert any(p.startswith("sla.yaml, line 6: alerts.routes[0].match.events[0]") for p in found)
    assert any(p.startswith("sla.yaml, line 13: alerts.routes[1].receivers[0]") for p in found)
    assert any(p.startswith("sla.yaml, line 14: alerts.routes[1].repaet") for p in found)
    assert len(found) == 3  # schema errors first: cross-references need a valid section


def test_cross_references_are_checked_once_the_shape_is_right() -> None:
    text = dedent(
        """\
        alerts:
          routes:
            - name: reps
              match: {rules: [frist-touch]}
              receivers: [owner, "webhook:bi"]
              fallback: [owner]
              escalation:
                - {after: 1d, to: [manager]}
                - {after: 2h, to: [manager]}
            - name: reps
              receivers: [manager]
        """
    )
    assert problems(text) == [
        "sla.yaml, line 4: alerts.routes[0].match.rules[0]: names no rule: 'frist-touch'",
        "sla.yaml, line 5: alerts.routes[0].receivers[1]: names webhook 'bi'; "
        "known: none are defined under webhooks:",
        "sla.yaml, line 6: alerts.routes[0].fallback[0]: cannot be owner: "
        "it stands in for the owner",
        "sla.yaml, line 9: alerts.routes[0].escalation[1].after: "
        "must be later than the step before",
        "sla.yaml, line 10: alerts.routes[1].name: repeats route 'reps'",
    ]
