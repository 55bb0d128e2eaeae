"""The SLA writers and readers agree with the tables they write and read: a column added to
`sla_instances` or `sla_events` is written by every writer, and compared when an outcome may
change it, without a second list to keep in step."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from app.evaluation.columns import COMPARED, EVENT_COLUMNS, INSTANCE_COLUMNS
from app.evaluation.reconcile import Subject, event_row, new_row, outcome_row
from app.evaluation.repository import INSTANCE_FIELDS, StoredInstance
from app.models import SlaEvent, SlaInstance
from app.sla.clocks import CycleOutcome
from app.sla.states import SlaEventType, SlaState

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SUBJECT = Subject(7, "mql-first-touch", "response", "contact", "501", "f1")
OUTCOME = CycleOutcome(
    cycle=1,
    started_at=NOW,
    owner_id="42",
    goal="4h",
    state=SlaState.RUNNING,
    paused=False,
    warning_at=None,
    due_at=None,
    stopped_at=None,
    breached_at=None,
    next_due_at=None,
    events=(),
)


def _table_columns(model: type) -> set[str]:
    return {column.name for column in model.__table__.columns} - {"id"}


def test_a_new_instance_row_fills_every_column_of_the_table() -> None:
    row = new_row(OUTCOME, SUBJECT, NOW)
    assert set(row) == set(INSTANCE_COLUMNS) == _table_columns(SlaInstance)


def test_an_event_row_fills_every_column_of_the_table() -> None:
    row = event_row(SUBJECT, 3, 1, "42", SlaEventType.WARNING, NOW, NOW)
    assert set(row) == set(EVENT_COLUMNS) == _table_columns(SlaEvent)


def test_an_outcome_is_compared_on_every_column_it_sets() -> None:
    assert set(outcome_row(OUTCOME, SUBJECT)) == set(COMPARED)


def test_a_stored_instance_is_read_in_the_order_its_fields_are_declared() -> None:
    # load_instances builds StoredInstance positionally from a select of INSTANCE_FIELDS
    declared = [field.name for field in dataclasses.fields(StoredInstance)]
    assert declared == [name.replace("metrics", "raw_metrics") for name in INSTANCE_FIELDS]
