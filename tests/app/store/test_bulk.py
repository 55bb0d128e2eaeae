"""The store's bulk writer stores exactly what the ORM stores (values converted from the
table definitions, Python-side defaults filled in), counts what it inserted, and updates and
deletes by key — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import Deal, Portal
from app.store import bulk

PORTAL = 5151
AT = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=UTC)
DEAL_COLUMNS = (
    "portal_id, id, archived, properties, name, pipeline, deal_stage, amount, close_date,"
    " owner_id, created_at, modified_at, synced_at"
)


def _deal(deal_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "portal_id": PORTAL,
        "id": deal_id,
        "archived": False,
        "properties": {"dealname": "Zoë ☃", "amount": "12.50", "nested": {"a": [1, None]}},
        "name": "Zoë ☃",
        "pipeline": "default",
        "deal_stage": "qualifiedtobuy",
        "amount": Decimal("12.50"),
        "close_date": None,
        "owner_id": "77",
        "created_at": AT,
        "modified_at": AT,
        "synced_at": AT,
        **overrides,
    }


def _stored(session: Session, table: str, columns: str) -> list[tuple[Any, ...]]:
    query = text(f"SELECT {columns} FROM {table} ORDER BY 1, 2")
    return [tuple(row) for row in session.execute(query)]


def test_rows_written_in_bulk_equal_rows_written_through_the_orm(session: Session) -> None:
    session.add(Portal(id=PORTAL))
    session.commit()
    session.add(Deal(**_deal("1")))
    session.commit()
    through_orm = _stored(session, "deals", DEAL_COLUMNS)
    session.execute(text("DELETE FROM deals"))
    session.commit()

    bulk.bulk_insert(session, Deal, [_deal("1")])
    session.commit()
    assert _stored(session, "deals", DEAL_COLUMNS) == through_orm


def test_left_out_columns_get_the_models_python_defaults(session: Session) -> None:
    bulk.bulk_insert(session, Portal, [{"id": PORTAL}], skip_conflicts_on=["id"])
    session.commit()
    portal = session.get(Portal, PORTAL)
    assert portal is not None
    assert (portal.time_zone, portal.currency, portal.ui_domain) == (
        "UTC",
        "USD",
        "app.hubspot.com",
    )


def test_an_insert_that_skips_conflicts_counts_only_the_new_rows(session: Session) -> None:
    bulk.bulk_insert(session, Portal, [{"id": PORTAL}])
    rows = [_deal("1"), _deal("2")]
    assert bulk.bulk_insert(session, Deal, rows, skip_conflicts_on=["portal_id", "id"]) == 2
    rows = [_deal("2"), _deal("3"), _deal("3")]
    assert bulk.bulk_insert(session, Deal, rows, skip_conflicts_on=()) == 1
    session.commit()
    assert [r[1] for r in _stored(session, "deals", "portal_id, id")] == ["1", "2", "3"]


def test_an_upsert_updates_only_where_its_condition_holds(session: Session) -> None:
    bulk.bulk_insert(session, Portal, [{"id": PORTAL}])
    bulk.bulk_insert(session, Deal, [_deal("1"), _deal("2")])
    later = datetime(2026, 4, 2, tzinfo=UTC)
    earlier = datetime(2026, 3, 1, tzinfo=UTC)
    bulk.bulk_upsert(
        session,
        Deal,
        [
            _deal("1", deal_stage="closedwon", modified_at=later),
            _deal("2", deal_stage="closedlost", modified_at=earlier),
            _deal("3", deal_stage="appointmentscheduled"),
        ],
        keys=["portal_id", "id"],
        where_sql="excluded.modified_at >= deals.modified_at",
    )
    session.commit()
    stages = _stored(session, "deals", "id, deal_stage")
    assert stages == [("1", "closedwon"), ("2", "qualifiedtobuy"), ("3", "appointmentscheduled")]


def test_updates_and_deletes_by_key(session: Session) -> None:
    bulk.bulk_insert(session, Portal, [{"id": PORTAL}])
    bulk.bulk_insert(session, Deal, [_deal(str(n)) for n in range(1, 5)])
    bulk.bulk_update(
        session,
        Deal,
        [
            {"portal_id": PORTAL, "id": "1", "amount": Decimal("99.99"), "properties": {}},
            {"portal_id": PORTAL, "id": "2", "close_date": AT},
        ],
        match=("portal_id", "id"),
    )
    bulk.update_in(session, Deal, {"archived": True}, "id", ["3", "4"])
    bulk.delete_in(session, Deal, "id", ["4"], fixed={"portal_id": [PORTAL]})
    session.commit()
    session.expire_all()
    deals = {d.id: d for d in session.query(Deal)}
    assert sorted(deals) == ["1", "2", "3"]
    assert (deals["1"].amount, deals["1"].properties) == (Decimal("99.99"), {})
    assert deals["2"].close_date == AT and deals["2"].amount == Decimal("12.50")
    assert [deals[i].archived for i in ("1", "2", "3")] == [False, False, True]
