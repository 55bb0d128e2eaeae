"""The rules file (`SLAGUARD_RULES`, YAML) as typed pydantic models.

Every model forbids unknown keys, so a typo is an error with a line number rather than a rule
that silently never fires. docs/rules.md documents these models.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.sla.durations import Goal, parse_goal, parse_goal_cached

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ObjectType = Literal["contact", "deal"]
TimeBasis = Literal["business", "calendar"]
StageClass = Literal["open", "closed", "won", "lost"]

_WORKWEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
EngagementType = Literal["call", "email", "meeting", "note", "task"]
_DEFAULT_TOUCHES: tuple[EngagementType, ...] = ("call", "email", "meeting")
# The directions HubSpot gives calls (hs_call_direction) and emails (hs_email_direction);
# meetings, notes and tasks have none, so a directions filter leaves them alone.
DIRECTIONS: dict[str, frozenset[str]] = {
    "call": frozenset({"INBOUND", "OUTBOUND"}),
    "email": frozenset({"EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"}),
}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_text_list(value: Any) -> Any:
    """A single value or a list, numbers as text (HubSpot ids and enums are strings)."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        return [
            str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value
        ]
    return value


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected an IANA time zone such as Europe/Berlin or America/New_York, got {value!r}"
        ) from None
    return value


def parse_range(text: str) -> tuple[time, time]:
    """`09:00-17:30` -> (09:00, 17:30). An end at or before the start crosses midnight."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"expected a range like 09:00-17:30, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 0, 0  # 24:00 is midnight at the end of the day
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"expected times between 00:00 and 24:00, got {text!r}")
    start, end = time(h1, m1), time(h2, m2)
    if start == end and text.strip().split("-")[-1].strip() != "24:00":
        raise ValueError(f"expected a range of non-zero length, got {text!r}")
    return start, end


class Holidays(Strict):
    country: str | None = Field(None, description="ISO country code for the `holidays` package")
    subdivision: str | None = Field(None, description="state / province code, e.g. NY or BY")
    dates: list[date] = Field(default_factory=list, description="extra closed days")

    @model_validator(mode="after")
    def _subdivision_needs_country(self) -> Holidays:
        if self.subdivision and not self.country:
            raise ValueError("expected a country beside the subdivision")
        return self


class CalendarSpec(Strict):
    """Working hours per weekday in one time zone (default: the portal's), minus holidays."""

    time_zone: str | None = None
    hours: dict[Weekday, list[str]] = Field(
        default_factory=lambda: {day: ["09:00-17:00"] for day in _WORKWEEK}
    )
    holidays: Holidays = Field(default_factory=Holidays)

    _zone = field_validator("time_zone")(_check_zone)

    @field_validator("hours")
    @classmethod
    def _check_ranges(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for ranges in value.values():
            for text in ranges:
                parse_range(text)
        if not any(value.values()):
            raise ValueError("expected at least one working range in the week")
        return value

    def weekly(self) -> dict[int, list[tuple[time, time]]]:
        """Ranges by Python weekday number (Monday = 0)."""
        return {
            WEEKDAYS.index(day): [parse_range(text) for text in ranges]
            for day, ranges in self.hours.items()
        }


class Assignments(Strict):
    """Which calendar counts for a record: its owner's, else the owner's team's, else default."""

    default: str = "default"
    teams: dict[str, str] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)

    @field_validator("teams", "owners", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # HubSpot ids are numbers in YAML unless quoted; the store keeps them as text.
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value


class Condition(Strict):
    """One test on a record property: exactly one of equals / in / not_in / exists / stage.

    `property` is a HubSpot property name (lifecyclestage, hs_lead_status, hubspot_owner_id,
    hs_analytics_source, pipeline, dealstage, amount, or any synced property) or `team`
    (the owner's teams)."""

    property: str
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    exists: bool | None = None
    stage: StageClass | None = Field(
        None, description="dealstage/lifecyclestage only: open, closed, won or lost"
    )

    @field_validator("equals", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    _lists = field_validator("in_", "not_in", mode="before")(_as_text_list)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [
            name
            for name, v in (
                ("equals", self.equals),
                ("in", self.in_),
                ("not_in", self.not_in),
                ("exists", self.exists),
                ("stage", self.stage),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of equals, in, not_in, exists, stage beside property"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class Start(Strict):
    """When a clock starts. Exactly one trigger; each new entry starts a new cycle."""

    entered_stage: list[str] | None = None
    owner_assigned: bool | None = None
    lead_status_set: list[str] | None = None
    created: bool | None = None
    condition: Condition | None = None

    _stage_list = field_validator("entered_stage", "lead_status_set", mode="before")(_as_text_list)

    @model_validator(mode="after")
    def _one_trigger(self) -> Start:
        given = [k for k in type(self).model_fields if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of entered_stage, owner_assigned, lead_status_set, "
                "created, condition"
            )
        return self


class Touches(Strict):
    """Which engagements count as a touch."""

    types: list[EngagementType] = Field(default_factory=lambda: list(_DEFAULT_TOUCHES))
    directions: list[str] | None = Field(
        None,
        description="e.g. [OUTBOUND, EMAIL]; filters calls and emails only; absent = any",
    )
    by: Literal["owner", "anyone"] = "owner"


class Stop(Strict):
    """What stops a clock; the first of these to happen wins."""

    engagement: Touches | None = None
    lead_status_in: list[str] | None = None
    stage_advanced: bool | None = None
    conditions: list[Condition] | None = None

    _lists = field_validator("lead_status_in", mode="before")(_as_text_list)

    @model_validator(mode="after")
    def _something(self) -> Stop:
        if not any(getattr(self, k) for k in type(self).model_fields):
            raise ValueError(
                "expected at least one of engagement, lead_status_in, stage_advanced, conditions"
            )
        return self


class WhileTrue(Strict):
    """A state a record is in (pause) or enters (cancel): any of these holding."""

    lead_status_in: list[str] | None = None
    conditions: list[Condition] | None = None

    _lists = field_validator("lead_status_in", mode="before")(_as_text_list)

    @model_validator(mode="after")
    def _something(self) -> WhileTrue:
        if not (self.lead_status_in or self.conditions):
            raise ValueError("expected lead_status_in or conditions")
        return self


def _check_goal_text(value: str) -> str:
    parse_goal(value)
    return value


GoalField = Annotated[str, Field(description="a duration: 4h, 30m, 1h30m, 2d")]


class RuleBase(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    name: str | None = None
    object: ObjectType = "contact"
    scope: list[Condition] = Field(default_factory=list)
    calendar: str | None = Field(None, description="a calendar name; default: by owner/team")
    time: TimeBasis = "business"
    enabled: bool = True

    @property
    def title(self) -> str:
        return self.name or self.id


class ClockRule(RuleBase):
    start: Start
    pause: WhileTrue | None = None
    cancel: WhileTrue | None = None
    warning_at: float | None = Field(0.75, gt=0, lt=1, description="share of the goal used")

    @property
    def goal_value(self) -> Goal:  # pragma: no cover - overridden
        raise NotImplementedError


class ResponseRule(ClockRule):
    kind: Literal["response"]
    stop: Stop
    goal: GoalField

    _goal_ok = field_validator("goal")(_check_goal_text)

    @property
    def goal_value(self) -> Goal:
        return parse_goal_cached(self.goal)


class Cadence(Strict):
    count: int = Field(ge=1, description="touches needed")
    within: GoalField

    _within_ok = field_validator("within")(_check_goal_text)


class CadenceRule(ClockRule):
    kind: Literal["cadence"]
    touches: Cadence
    counts: Touches = Field(default_factory=Touches, description="which engagements count")
    stop: Stop | None = None

    @property
    def goal_value(self) -> Goal:
        return parse_goal_cached(self.touches.within)


class StageAgeRule(RuleBase):
    kind: Literal["stage_age"]
    object: ObjectType = "deal"
    stages: Literal["open"] | list[str] = "open"
    max: GoalField
    warning_at: float | None = Field(0.75, gt=0, lt=1)

    _goal_ok = field_validator("max")(_check_goal_text)

    @property
    def goal_value(self) -> Goal:
        return parse_goal_cached(self.max)


PeriodName = Literal["week", "month", "quarter"]


class QuotaRule(RuleBase):
    kind: Literal["quota"]
    counts: Condition = Field(description="entering this value counts a record")
    period: PeriodName = "month"
    target: int = Field(ge=1)
    at_risk_below: float = Field(
        0.9, gt=0, le=1, description="at_risk when count < pacing line x this share"
    )


MetricName = Literal["median_sales_cycle_days", "average_deal_value", "pipeline_velocity"]


class RateRule(RuleBase):
    kind: Literal["rate"]
    numerator: Condition | None = None
    denominator: Condition | None = None
    metric: MetricName | None = None
    window: GoalField | None = Field(None, description="rolling window, e.g. 30d")
    period: PeriodName | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_sample: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _shape(self) -> RateRule:
        if self.metric is None and (self.numerator is None or self.denominator is None):
            raise ValueError("expected numerator and denominator, or a metric")
        if self.metric is not None and (self.numerator or self.denominator):
            raise ValueError("expected either a metric or numerator/denominator, not both")
        if (self.window is None) == (self.period is None):
            raise ValueError("expected exactly one of window (rolling, e.g. 30d) or period")
        if self.minimum is None and self.maximum is None:
            raise ValueError("expected a minimum or a maximum")
        return self

    _window_ok = field_validator("window")(_check_goal_text)

    @property
    def window_goal(self) -> Goal | None:
        return parse_goal(self.window) if self.window else None


Rule = Annotated[
    ResponseRule | CadenceRule | StageAgeRule | QuotaRule | RateRule,
    Field(discriminator="kind"),
]
ClockRules = ResponseRule | CadenceRule | StageAgeRule
PeriodRules = QuotaRule | RateRule


class RulesFile(Strict):
    version: Literal[1] = 1
    calendars: dict[str, CalendarSpec] = Field(default_factory=lambda: {"default": CalendarSpec()})
    assignments: Assignments = Field(default_factory=Assignments)
    rules: list[Rule] = Field(default_factory=list)
    # Alert routing, read and checked by `alerts.config` (the SLA engine does not use it).
    alerts: dict[str, Any] | None = None

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def active_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]
