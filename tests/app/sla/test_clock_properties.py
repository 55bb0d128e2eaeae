"""Properties of clock deadlines through pauses, on a real business calendar."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla.calendar import BusinessCalendar
from app.sla.clocks import deadline

CALENDAR = BusinessCalendar(
    "America/New_York",
    {d: [(time(9), time(12)), (time(13), time(18))] for d in range(5)},
    holiday_country="US",
)
BASE = datetime(2026, 3, 2, tzinfo=UTC)  # spans the March DST change

instants = st.integers(min_value=0, max_value=40 * 24 * 60).map(
    lambda m: BASE + timedelta(minutes=m)
)
goals = st.integers(min_value=1, max_value=30 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def pause_lists(draw: st.DrawFn) -> list[tuple[datetime, datetime]]:
    points = sorted(draw(st.lists(instants, min_size=0, max_size=6, unique=True)))
    return [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]


@settings(max_examples=200)
@given(start=instants, goal=goals, pauses=pause_lists())
def test_counted_time_to_the_deadline_minus_pauses_is_the_goal(
    start: datetime, goal: timedelta, pauses: list[tuple[datetime, datetime]]
) -> None:
    due = deadline(CALENDAR, start, goal, pauses)
    assert due is not None and due >= start
    paused = sum(
        (CALENDAR.elapsed(max(a, start), min(b, due)) for a, b in pauses if b > start and a < due),
        timedelta(0),
    )
    assert CALENDAR.elapsed(start, due) - paused == goal
    # Due no later than needed: the instant just before it was counted working time.
    assert CALENDAR.is_counting(due - timedelta(microseconds=1))


@settings(max_examples=100)
@given(start=instants, goal=goals, pause_start=instants)
def test_an_open_pause_before_the_deadline_holds_the_clock(
    start: datetime, goal: timedelta, pause_start: datetime
) -> None:
    unpaused = deadline(CALENDAR, start, goal, [])
    assert unpaused is not None
    held = deadline(CALENDAR, start, goal, [(pause_start, None)])
    if pause_start < unpaused and CALENDAR.elapsed(max(pause_start, start), unpaused) > timedelta(
        0
    ):
        assert held is None
    else:
        assert held == unpaused
