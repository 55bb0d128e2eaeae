"""Reporting periods (quotas and rates per week, month or quarter) in the calendar's time zone,
checked against hand-computed local boundaries (Berlin: CET +01:00, CEST +02:00 from the last
Sunday of March to the last Sunday of October)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app.sla.periods import Period, period_containing, previous_period, rolling_window

BERLIN = "Europe/Berlin"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("at", "key", "start", "end"),
    [
        # Each quarter starts at local midnight on the 1st of January, April, July, October.
        ("2026-02-10T12:00+01:00", "2026-Q1", "2026-01-01T00:00+01:00", "2026-04-01T00:00+02:00"),
        ("2026-05-31T23:59+02:00", "2026-Q2", "2026-04-01T00:00+02:00", "2026-07-01T00:00+02:00"),
        ("2026-09-30T23:59+02:00", "2026-Q3", "2026-07-01T00:00+02:00", "2026-10-01T00:00+02:00"),
        ("2026-10-01T00:00+02:00", "2026-Q4", "2026-10-01T00:00+02:00", "2027-01-01T00:00+01:00"),
        ("2026-12-31T23:59+01:00", "2026-Q4", "2026-10-01T00:00+02:00", "2027-01-01T00:00+01:00"),
        # 23:30 UTC on New Year's Eve is already next year in Berlin.
        ("2026-12-31T23:30+00:00", "2027-Q1", "2027-01-01T00:00+01:00", "2027-04-01T00:00+02:00"),
    ],
)
def test_a_quarter_runs_from_local_midnight_on_its_first_day_to_the_next_quarters(
    at: str, key: str, start: str, end: str
) -> None:
    assert period_containing(utc(at), "quarter", BERLIN) == Period(key, utc(start), utc(end))


def test_the_quarter_before_the_first_is_the_last_of_the_previous_year() -> None:
    first = period_containing(utc("2026-01-15T10:00+01:00"), "quarter", BERLIN)
    assert previous_period(first, "quarter", BERLIN) == Period(
        "2025-Q4", utc("2025-10-01T00:00+02:00"), utc("2026-01-01T00:00+01:00")
    )


@pytest.mark.parametrize(
    ("at", "key", "start", "end"),
    [
        ("2026-02-14T09:00+01:00", "2026-02", "2026-02-01T00:00+01:00", "2026-03-01T00:00+01:00"),
        ("2026-01-31T23:59+01:00", "2026-01", "2026-01-01T00:00+01:00", "2026-02-01T00:00+01:00"),
        ("2026-03-31T12:00+02:00", "2026-03", "2026-03-01T00:00+01:00", "2026-04-01T00:00+02:00"),
        ("2026-12-05T12:00+01:00", "2026-12", "2026-12-01T00:00+01:00", "2027-01-01T00:00+01:00"),
    ],
)
def test_a_month_runs_from_local_midnight_on_the_first(
    at: str, key: str, start: str, end: str
) -> None:
    assert period_containing(utc(at), "month", BERLIN) == Period(key, utc(start), utc(end))


@pytest.mark.parametrize(
    ("at", "key", "start", "end"),
    [
        # Monday to Monday; the week of the spring change is an hour short.
        ("2026-03-29T12:00+02:00", "2026-W13", "2026-03-23T00:00+01:00", "2026-03-30T00:00+02:00"),
        # ISO weeks: 2026 has 53, and 1 January 2027 belongs to the last of them.
        ("2027-01-01T09:00+01:00", "2026-W53", "2026-12-28T00:00+01:00", "2027-01-04T00:00+01:00"),
    ],
)
def test_a_week_runs_from_local_monday_midnight_with_its_iso_number(
    at: str, key: str, start: str, end: str
) -> None:
    assert period_containing(utc(at), "week", BERLIN) == Period(key, utc(start), utc(end))


def test_an_unknown_period_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown period 'year'"):
        period_containing(utc("2026-01-01T00:00+00:00"), "year", BERLIN)


def test_a_rolling_window_ends_now() -> None:
    now = utc("2026-06-01T12:00+00:00")
    assert rolling_window(now, timedelta(days=7)) == Period(
        "rolling", utc("2026-05-25T12:00+00:00"), now
    )


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is New York (a server not set to UTC)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_period_boundaries_are_utc_whatever_the_machines_zone(machine_in_new_york: None) -> None:
    period = period_containing(utc("2026-02-10T12:00+01:00"), "quarter", BERLIN)
    assert period.start.utcoffset() == timedelta(0)
    assert period.end.utcoffset() == timedelta(0)
