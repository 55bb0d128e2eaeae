"""A running cycle's stored deadlines are reused while its start and owner hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from app.sla.calendar_book import CalendarBook
from app.sla.clocks import CycleOutcome
from app.sla.loader import parse_rules
from app.sla.rules import Hint, evaluate_clock_rule
from app.sla.schema import ResponseRule
from tests.app.sla.scenario import DIRECTORY, contact, ny

EXAMPLE = Path(__file__).resolve().parents[3] / "sla.example.yaml"
NOW = ny("2026-11-24 10:30")
CYCLE = 1  # the first cycle is numbered 1


def _running(hint: Hint | None) -> CycleOutcome:
    """The example's mql-first-touch on an MQL of 10:00, untouched at 10:30."""
    rules = parse_rules(EXAMPLE.read_text(), str(EXAMPLE))
    rule = rules.rule("mql-first-touch")
    assert isinstance(rule, ResponseRule)
    lead = contact(
        stages=[
            ("lead", ny("2026-11-24 08:00")),
            ("marketingqualifiedlead", ny("2026-11-24 10:00")),
        ],
        touches=[],
        hs_analytics_source="ORGANIC_SEARCH",
    )
    book = CalendarBook(rules, "UTC", DIRECTORY.owner_teams)
    hints = {CYCLE: hint} if hint is not None else None
    (cycle,) = evaluate_clock_rule(rule, lead, DIRECTORY, book, NOW, (), hints)
    return cycle


def _stored_elsewhere(computed: CycleOutcome, **changes: object) -> Hint:
    """A hint whose deadlines differ from the computed ones, so a reuse shows."""
    assert computed.due_at is not None and computed.warning_at is not None
    fields: dict[str, object] = {
        "started_at": computed.started_at,
        "owner_id": computed.owner_id,
        "due_at": computed.due_at + timedelta(minutes=7),
        "warning_at": computed.warning_at + timedelta(minutes=7),
    }
    fields.update(changes)
    return Hint(**fields)  # type: ignore[arg-type]


def test_a_hint_with_the_same_start_and_owner_keeps_the_stored_deadlines() -> None:
    computed = _running(None)
    assert (computed.cycle, computed.state) == (CYCLE, "running")
    hint = _stored_elsewhere(computed)
    reused = _running(hint)
    assert (reused.due_at, reused.warning_at) == (hint.due_at, hint.warning_at)


def test_a_hint_for_another_owner_or_start_is_not_used() -> None:
    computed = _running(None)
    for changed in (
        {"owner_id": "somebody-else"},
        {"started_at": computed.started_at - timedelta(hours=1)},
        {"due_at": None},
    ):
        recomputed = _running(_stored_elsewhere(computed, **changed))
        assert (recomputed.due_at, recomputed.warning_at) == (
            computed.due_at,
            computed.warning_at,
        ), changed


def test_hints_are_values() -> None:
    moment = datetime(2026, 11, 24, 15, 0)
    assert Hint(moment, "7", None, None) == Hint(moment, "7", None, None)
    assert hash(Hint(moment, "7", None, None)) == hash(Hint(moment, "7", None, None))
