"""A calendar open around the clock (00:00-24:00 every day): every instant counts, and asking
when counting next starts answers at once instead of walking for ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.sla.calendar import BusinessCalendar
from app.sla.calendar_book import build_calendar
from app.sla.schema import CalendarSpec

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Around the New York spring-forward night and an ordinary week.
INSTANTS = [
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 8, 28, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 8, 29, 4, 0, tzinfo=UTC),  # midnight in New York
    datetime(2026, 12, 25, 15, 0, tzinfo=UTC),
]


def always_open(holidays: dict[str, object] | None = None) -> BusinessCalendar:
    spec = CalendarSpec.model_validate(
        {
            "time_zone": "America/New_York",
            "hours": {day: ["00:00-24:00"] for day in DAYS},
            "holidays": holidays or {},
        }
    )
    return build_calendar(spec, "UTC")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("at", INSTANTS)
def test_every_instant_of_an_always_open_calendar_counts_now(at: datetime) -> None:
    calendar = always_open()

    assert calendar.is_counting(at)
    assert calendar.next_counting(at) == at
    assert calendar.next_counting(at.astimezone(ZoneInfo("Asia/Tokyo"))) == at


@pytest.mark.timeout(10)
def test_an_always_open_calendar_with_a_holiday_counts_again_when_the_holiday_ends() -> None:
    calendar = always_open({"dates": ["2026-12-25"]})
    christmas_noon = datetime(2026, 12, 25, 17, 0, tzinfo=UTC)

    assert not calendar.is_counting(christmas_noon)
    # The holiday ends at New York's midnight, 05:00 UTC on the 26th.
    assert calendar.next_counting(christmas_noon) == datetime(2026, 12, 26, 5, 0, tzinfo=UTC)


@pytest.mark.timeout(10)
def test_always_open_adds_and_measures_wall_time() -> None:
    calendar = always_open()
    start = datetime(2026, 8, 28, 20, 0, tzinfo=UTC)

    assert calendar.add(start, timedelta(hours=30)) == start + timedelta(hours=30)
    assert calendar.elapsed(start, start + timedelta(days=3)) == timedelta(days=3)
