"""The SLA tables' column lists, read off their definitions in app/models/sla.py.

The bulk writers feed the driver plain tuples, so they need the columns by name and in order;
reading them from the tables means a column added to a model is written (and compared) without
a second list to keep in step.
"""

from __future__ import annotations

from sqlalchemy import JSON, Table, UniqueConstraint

from app.models import SlaEvent, SlaInstance
from app.models.base import UTCDateTime

_INSTANCES: Table = SlaInstance.__table__  # type: ignore[assignment]
_EVENTS: Table = SlaEvent.__table__  # type: ignore[assignment]


def written_columns(table: Table) -> tuple[str, ...]:
    """Every column a writer supplies, in the table's order: all but the generated id."""
    generated = table.autoincrement_column
    return tuple(column.name for column in table.columns if column is not generated)


def unique_key(table: Table) -> tuple[str, ...]:
    """The columns of the table's one unique constraint, in its order."""
    (constraint,) = (c for c in table.constraints if isinstance(c, UniqueConstraint))
    return tuple(column.name for column in constraint.columns)


INSTANCE_COLUMNS = written_columns(_INSTANCES)
EVENT_COLUMNS = written_columns(_EVENTS)
# portal, rule, object type and id, cycle: one instance per key
INSTANCE_KEY = unique_key(_INSTANCES)
# instance and type: each event happens at most once per instance
EVENT_KEY = unique_key(_EVENTS)
# What a fresh outcome may change in a stored instance: everything but its key, its kind
# (fixed by its rule) and when it was last written.
COMPARED = tuple(
    name for name in INSTANCE_COLUMNS if name not in {*INSTANCE_KEY, "kind", "updated_at"}
)

_TABLES = (_INSTANCES, _EVENTS)
# The columns whose values the bulk writers convert (JSON text, and UTC text on SQLite).
JSON_COLUMNS = frozenset(c.name for t in _TABLES for c in t.columns if isinstance(c.type, JSON))
TIME_COLUMNS = frozenset(
    c.name for t in _TABLES for c in t.columns if isinstance(c.type, UTCDateTime)
)
