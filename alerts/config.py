"""Reading and checking the rules file's `alerts:` section into typed routes.

Problems come back all at once as `RulesFileError`, each with file, line and field, in the
same form as the rest of the rules file. Beyond the shape (`alerts.config_schema`) it checks:
receivers name webhooks that exist, routes name rules that exist, fallbacks can stand in for
someone (not `owner` again), escalation steps climb, webhook URLs pass the address guard, and
each webhook's `secret_env` is set to a well-formed secret. The secret is read from the
environment, never from the file (whose text is stored in the database).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from alerts.config_schema import AlertsSpec, RouteSpec, ScorecardSpec
from alerts.digest import DigestSettings
from alerts.model import (
    DEFAULT_GROUP_WAIT,
    EscalationStep,
    EventType,
    Matcher,
    ReceiverKind,
    Route,
)
from alerts.scorecard import ScorecardSchedule
from app.sla.durations import Goal
from app.sla.loader import Problem, RulesFileError
from app.sla.yaml_positions import Location, dotted, index_node, line_of
from integrations.webhooks.guard import AddressRefused, check_url
from integrations.webhooks.signing import SecretError, WebhookSecret, parse_secrets

ALLOW_PRIVATE_ENV = "SLAGUARD_WEBHOOKS_ALLOW_PRIVATE"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    name: str
    url: str
    secret_env: str
    events: frozenset[EventType]

    def secrets(self, environ: Mapping[str, str] | None = None) -> tuple[WebhookSecret, ...]:
        """The secrets in force now, read from the environment at the moment of use."""
        source = os.environ if environ is None else environ
        return parse_secrets(source.get(self.secret_env, ""))


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    routes: tuple[Route, ...]
    webhooks: Mapping[str, WebhookEndpoint]
    # HubSpot team id -> Slack user ids or emails (emails are looked up like owners').
    managers: Mapping[str, tuple[str, ...]]
    scorecard: ScorecardSchedule | None = None
    digest: DigestSettings | None = None

    @property
    def webhook_events(self) -> dict[str, frozenset[EventType]]:
        return {name: endpoint.events for name, endpoint in self.webhooks.items()}


def allow_private_from(environ: Mapping[str, str]) -> bool:
    return environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


# -- the checks ------------------------------------------------------------------------------


def _schema_problems(exc: ValidationError) -> Iterator[tuple[Location, str]]:
    for error in exc.errors():
        location = ("alerts", *(part for part in error["loc"] if part != "continue_"))
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required but missing"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field here"
        yield location, message


def _route_problems(
    index: int, route: RouteSpec, spec: AlertsSpec, rule_ids: Collection[str] | None
) -> Iterator[tuple[Location, str]]:
    here: Location = ("alerts", "routes", index)
    for field, receivers in (("receivers", route.receivers), ("fallback", route.fallback)):
        for position, receiver in enumerate(receivers):
            if receiver.kind is ReceiverKind.WEBHOOK and receiver.name not in spec.webhooks:
                known = ", ".join(sorted(spec.webhooks)) or "none are defined under webhooks:"
                yield (*here, field, position), f"names webhook {receiver.name!r}; known: {known}"
    for position, receiver in enumerate(route.fallback):
        if receiver.kind is ReceiverKind.OWNER:
            yield (*here, "fallback", position), "cannot be owner: it stands in for the owner"
    if rule_ids is not None:
        for position, rule_id in enumerate(route.match.rules):
            if rule_id not in rule_ids:
                yield (*here, "match", "rules", position), f"names no rule: {rule_id!r}"
    previous: Goal | None = None
    for position, step in enumerate(route.escalation):
        if previous is not None and (step.after.days, step.after.seconds) <= (
            previous.days,
            previous.seconds,
        ):
            yield (*here, "escalation", position, "after"), "must be later than the step before"
        previous = step.after


def _webhook_problems(
    spec: AlertsSpec, environ: Mapping[str, str]
) -> Iterator[tuple[Location, str]]:
    allow_private = allow_private_from(environ)
    for name, hook in spec.webhooks.items():
        here: Location = ("alerts", "webhooks", name)
        try:
            check_url(hook.url, allow_private=allow_private)
        except AddressRefused as refused:
            yield (*here, "url"), str(refused)
        value = environ.get(hook.secret_env)
        if not value:
            yield (*here, "secret_env"), f"{hook.secret_env} is not set in the environment"
            continue
        try:
            parse_secrets(value)
        except SecretError as malformed:
            yield (*here, "secret_env"), f"{hook.secret_env} is malformed: {malformed}"


def _cross_problems(
    spec: AlertsSpec, environ: Mapping[str, str] | None, rule_ids: Collection[str] | None
) -> Iterator[tuple[Location, str]]:
    seen: dict[str, int] = {}
    for index, route in enumerate(spec.routes):
        if route.name in seen:
            yield ("alerts", "routes", index, "name"), f"repeats route {route.name!r}"
        seen.setdefault(route.name, index)
        yield from _route_problems(index, route, spec, rule_ids)
    if spec.digest is not None and rule_ids is not None:
        for position, rule_id in enumerate(spec.digest.rules):
            if rule_id not in rule_ids:
                yield ("alerts", "digest", "rules", position), f"names no rule: {rule_id!r}"
    if environ is not None:
        yield from _webhook_problems(spec, environ)


# -- typed output ----------------------------------------------------------------------------


def _route(route: RouteSpec, default_wait: timedelta) -> Route:
    match = route.match
    return Route(
        name=route.name,
        match=Matcher(
            rule_ids=frozenset(match.rules),
            rule_kinds=frozenset(match.kinds),
            event_types=frozenset(match.events),
            owner_teams=frozenset(match.teams),
            object_types=frozenset(match.objects),
        ),
        receivers=tuple(route.receivers),
        fallback=tuple(route.fallback),
        continue_matching=route.continue_,
        escalation=tuple(EscalationStep(s.after, tuple(s.to)) for s in route.escalation),
        repeat=route.repeat,
        group_wait=route.group_wait.as_calendar_time() if route.group_wait else default_wait,
        channels_wait_for_working_hours=route.quiet_hours,
    )


def _config(spec: AlertsSpec) -> AlertsConfig:
    default_wait = spec.group_wait.as_calendar_time() if spec.group_wait else DEFAULT_GROUP_WAIT
    return AlertsConfig(
        routes=tuple(_route(route, default_wait) for route in spec.routes),
        webhooks={
            name: WebhookEndpoint(name, hook.url, hook.secret_env, frozenset(hook.events))
            for name, hook in spec.webhooks.items()
        },
        managers={team: tuple(people) for team, people in spec.managers.items()},
        scorecard=None if spec.scorecard is None else _scorecard(spec.scorecard),
        digest=None if spec.digest is None else DigestSettings(frozenset(spec.digest.rules)),
    )


def _scorecard(spec: ScorecardSpec) -> ScorecardSchedule:
    return ScorecardSchedule(spec.channel.name, spec.weekday, spec.time, spec.timezone)


def check_alerts(
    text: str,
    file: str = "<rules>",
    *,
    environ: Mapping[str, str] | None = None,
    rule_ids: Collection[str] | None = None,
    check_environment: bool = True,
) -> AlertsConfig | None:
    """The `alerts:` section of the rules file `text` as typed routes; None when the file has
    none. Raises RulesFileError listing every problem with file, line and field.

    `check_environment=False` skips the webhook secrets and addresses: for the stored file at
    run time, which `rules check` vetted when it was put in force (a secret is read when a
    message is signed, and the sender guards addresses at connect time)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Worded as the rules loader words it, so `rules check` lists it once.
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise RulesFileError([Problem(file, line, "", f"is not valid YAML: {reason}")]) from None
    if not isinstance(data, dict) or data.get("alerts") is None:
        return None
    lines = index_node(root).lines if root is not None else {}
    found: list[tuple[Location, str]] = []
    spec: AlertsSpec | None = None
    try:
        spec = AlertsSpec.model_validate(data["alerts"])
    except ValidationError as exc:
        found.extend(_schema_problems(exc))
    if spec is not None:
        source = os.environ if environ is None else environ
        found.extend(_cross_problems(spec, source if check_environment else None, rule_ids))
    if found or spec is None:
        problems = [Problem(file, line_of(p, lines), dotted(p), m) for p, m in found]
        raise RulesFileError(sorted(problems, key=lambda p: p.line or 0))
    return _config(spec)
