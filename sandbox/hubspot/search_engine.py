"""Answers a CRM search without materialising the portal.

Base records are ordered the same way by id, created time and modified time (see
portal/timeline.py), so filters on those three become an index range found by binary search,
and a sort on them is a walk along the index. Changed records (few) are filtered and sorted
on each request and merged into that walk. Filters on any other property are checked record by
record, which is exact but slower on big portals.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.hubspot.errors import bad_request
from sandbox.hubspot.search_request import RESULT_WINDOW, Filter, SearchRequest
from sandbox.portal import Portal, Record
from sandbox.portal.catalog import DEFINITION_BY_NAME
from sandbox.portal.generator import excluded_remainders, needs_detail
from sandbox.portal.shapes import CREATED_PROPERTY, MODIFIED_PROPERTY

RANGE_OPERATORS = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})
QUERY_PROPERTIES = ("email", "firstname", "lastname", "dealname", "hs_object_id")

SortKey = tuple[float, int]
Item = tuple[SortKey, int, Record | None]  # key, index, record when already at hand


@dataclass(frozen=True)
class SearchPage:
    total: int
    records: list[Record]
    next_after: int | None


def parse_moment(text: str) -> int:
    """A datetime filter value: epoch milliseconds, or ISO-8601 / a date."""
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            f"{text!r} is not a timestamp (epoch milliseconds or ISO-8601)."
        ) from None
    if moment.tzinfo is None:  # HubSpot reads a bare date or time as UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class _Comparer:
    """Compares property values by the property's type."""

    def __init__(self, object_type: str) -> None:
        self.definitions = DEFINITION_BY_NAME[object_type]

    def coerce(self, name: str, value: str) -> float | str:
        kind = self.definitions[name].type if name in self.definitions else "string"
        if kind == "datetime":
            return float(parse_moment(value))
        if kind == "number":
            try:
                return float(value)
            except ValueError:
                raise bad_request(f"{value!r} is not a number for {name!r}.") from None
        return value.lower()

    def matches(self, record: Record, flt: Filter) -> bool:
        raw = record.properties.get(flt.property_name)
        op = flt.operator
        if op == "HAS_PROPERTY":
            return raw not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return raw in (None, "")
        if raw in (None, ""):
            return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
        assert raw is not None
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            token = (flt.value or "").strip("*").lower()
            return (token in raw.lower()) == (op == "CONTAINS_TOKEN")
        have = self.coerce(flt.property_name, raw)
        if op in ("IN", "NOT_IN"):
            wanted = {self.coerce(flt.property_name, v) for v in flt.values}
            return (have in wanted) == (op == "IN")
        other = self.coerce(flt.property_name, flt.value or "")
        return _compare(op, have, other, flt, self)


def _compare(op: str, have: float | str, other: float | str, flt: Filter, cmp: _Comparer) -> bool:
    if type(have) is not type(other):
        have, other = str(have), str(other)
    if op == "EQ":
        return have == other
    if op == "NEQ":
        return have != other
    if op == "BETWEEN":
        high = cmp.coerce(flt.property_name, flt.high_value or "")
        return other <= have <= high  # type: ignore[operator]
    if op == "GT":
        return have > other  # type: ignore[operator]
    if op == "GTE":
        return have >= other  # type: ignore[operator]
    if op == "LT":
        return have < other  # type: ignore[operator]
    return have <= other  # type: ignore[operator]


class SearchEngine:
    def __init__(
        self, portal: Portal, object_type: str, request: SearchRequest, lag_ms: int = 0
    ) -> None:
        self.portal = portal
        self.lag_ms = lag_ms
        self._changed: list[Item] | None = None
        self.kind = object_type
        self.request = request
        self.comparer = _Comparer(object_type)
        self.modified_name = MODIFIED_PROPERTY[object_type]
        self.created_name = CREATED_PROPERTY[object_type]
        self.timeline = portal.generator.timelines[object_type]
        self.base_count = portal.base_count(object_type)
        self.indexed = {"hs_object_id", self.modified_name, self.created_name}

    # --- the public answer --------------------------------------------------------------------

    def run(self) -> SearchPage:
        request = self.request
        sort = request.sort_property
        if sort is None or sort in self.indexed:
            ordered: Iterator[Item] = self._walk()
        else:
            ordered = iter(self._sorted_by_other(sort))
        window = min(request.limit, RESULT_WINDOW - request.after)
        page: list[Item] = []
        for position, item in enumerate(_dedupe(ordered)):
            if position < request.after:
                continue
            if len(page) == window:
                break
            page.append(item)
        records = [self._record(item) for item in page]
        total = self._total()
        end = request.after + len(records)
        next_after = end if end < total else None
        return SearchPage(total, records, next_after)

    def _record(self, item: Item) -> Record:
        _key, index, record = item
        if record is not None:
            return record
        detail = needs_detail(self.kind, self.request.properties or [], [])
        return self.portal.generator.derive(self.kind, index, detail)

    # --- ordering -----------------------------------------------------------------------------

    def _key_of_index(self, index: int) -> SortKey:
        record_id = self.portal.record_id(self.kind, index)
        sort = self.request.sort_property
        if sort == self.modified_name:
            return (float(self.timeline.modified(index)), record_id)
        if sort == self.created_name:
            return (float(self.timeline.created(index)), record_id)
        return (float(record_id), record_id)

    def _key_of_record(self, record: Record) -> SortKey:
        sort = self.request.sort_property
        if sort == self.modified_name:
            return (float(record.modified_ms), record.id)
        if sort == self.created_name:
            return (float(record.created_ms), record.id)
        return (float(record.id), record.id)

    def _walk(self) -> Iterator[Item]:
        streams = [self._base_stream(group) for group in self.request.groups]
        streams.append(iter(self._changed_items()))
        return heapq.merge(*streams, key=lambda item: item[0], reverse=self.request.descending)

    def _changed_items(self) -> list[Item]:
        if self._changed is None:
            items: list[Item] = []
            for record in self.portal.searchable_records(self.kind, self.lag_ms):
                if record.active and self._matches(record):
                    items.append((self._key_of_record(record), -1, record))
            items.sort(key=lambda item: item[0], reverse=self.request.descending)
            self._changed = items
        return self._changed

    def _base_stream(self, group: tuple[Filter, ...]) -> Iterator[Item]:
        first, stop = self._index_range(group)
        residual = [f for f in group if not self._is_range_filter(f)]
        excluded = excluded_remainders(self.kind)
        indices = range(stop - 1, first - 1, -1) if self.request.descending else range(first, stop)
        for index in indices:
            if index % 100 in excluded or self.portal.is_overridden(self.kind, index):
                continue
            record = None
            if residual or self.request.query:
                record = self.portal.generator.derive(self.kind, index)
                if not all(self.comparer.matches(record, f) for f in residual):
                    continue
                if not self._query_matches(record):
                    continue
            yield (self._key_of_index(index), index, record)

    # --- filters ------------------------------------------------------------------------------

    def _matches(self, record: Record) -> bool:
        if not self._query_matches(record):
            return False
        return any(
            all(self.comparer.matches(record, f) for f in group) for group in self.request.groups
        )

    def _query_matches(self, record: Record) -> bool:
        query = self.request.query
        if not query:
            return True
        needle = query.lower()
        return any(needle in (record.properties.get(p) or "").lower() for p in QUERY_PROPERTIES)

    def _is_range_filter(self, flt: Filter) -> bool:
        return flt.property_name in self.indexed and flt.operator in RANGE_OPERATORS

    def _index_range(self, group: tuple[Filter, ...]) -> tuple[int, int]:
        first, stop = 0, self.base_count
        for flt in group:
            if self._is_range_filter(flt):
                low, high = self._filter_range(flt)
                first, stop = max(first, low), min(stop, high)
            elif flt.operator == "IN" and flt.property_name == "hs_object_id":
                ids = [int(v) for v in flt.values if v.strip().isdigit()]
                if not ids:
                    return 0, 0
                first = max(first, self.portal.index_of(self.kind, min(ids)))
                stop = min(stop, self.portal.index_of(self.kind, max(ids)) + 1)
        return first, max(first, stop)

    def _filter_range(self, flt: Filter) -> tuple[int, int]:
        """Base indices satisfying one range filter on id, created or modified time."""
        name, op = flt.property_name, flt.operator
        at_or_after: Callable[[int], int]
        after: Callable[[int], int]
        if name == "hs_object_id":
            at_or_after = self._id_bound
            after = self._id_bound_after
        elif name == self.modified_name:
            at_or_after = self.timeline.first_modified_at_or_after
            after = self.timeline.first_modified_after
        else:
            at_or_after = self.timeline.first_created_at_or_after
            after = self.timeline.first_created_after
        value = self._number(name, flt.value or "")
        if op == "EQ":
            return at_or_after(value), after(value)
        if op == "GT":
            return after(value), self.base_count
        if op == "GTE":
            return at_or_after(value), self.base_count
        if op == "LT":
            return 0, at_or_after(value)
        if op == "LTE":
            return 0, after(value)
        return at_or_after(value), after(self._number(name, flt.high_value or ""))

    def _number(self, name: str, text: str) -> int:
        if name == "hs_object_id":
            try:
                return int(float(text))
            except ValueError:
                raise bad_request(f"{text!r} is not a record id.") from None
        return parse_moment(text)

    def _id_bound(self, record_id: int) -> int:
        return min(self.base_count, max(0, self.portal.index_of(self.kind, record_id)))

    def _id_bound_after(self, record_id: int) -> int:
        return min(self.base_count, max(0, self.portal.index_of(self.kind, record_id) + 1))

    # --- totals and the slow path ---------------------------------------------------------------

    def _total(self) -> int:
        groups = self.request.groups
        simple = len(groups) == 1 and not self.request.query
        if simple and all(self._is_range_filter(f) for f in groups[0]):
            first, stop = self._index_range(groups[0])
            return self._count_base(first, stop) + len(self._changed_items())
        return sum(1 for _ in _dedupe(self._walk()))

    def _count_base(self, first: int, stop: int) -> int:
        excluded = excluded_remainders(self.kind)
        count = stop - first
        for remainder in excluded:
            count -= _count_remainder(stop, remainder) - _count_remainder(first, remainder)
        changed = self.portal.overridden_base_between(self.kind, first, stop)
        count -= sum(1 for index in changed if index % 100 not in excluded)
        return count

    def _sorted_by_other(self, sort: str) -> list[Item]:
        matches: list[Record] = [
            item[2] or self.portal.generator.derive(self.kind, item[1]) for item in self._walk()
        ]
        present = [r for r in matches if r.properties.get(sort) not in (None, "")]
        missing = [r for r in matches if r.properties.get(sort) in (None, "")]

        def key(record: Record) -> tuple[float | str, int]:
            return (self.comparer.coerce(sort, record.properties[sort] or ""), record.id)

        present.sort(key=key, reverse=self.request.descending)
        return [((0.0, r.id), -1, r) for r in present + missing]


def _count_remainder(limit: int, remainder: int) -> int:
    """How many i in [0, limit) have i % 100 == remainder."""
    return 0 if limit <= remainder else (limit - remainder + 99) // 100


def _dedupe(items: Iterator[Item]) -> Iterator[Item]:
    """Several filter groups can yield the same record; equal keys arrive side by side."""
    last: int | None = None
    for item in items:
        if item[0][1] != last:
            last = item[0][1]
            yield item


def run_search(
    portal: Portal, object_type: str, request: SearchRequest, lag_ms: int = 0
) -> SearchPage:
    """`lag_ms`: how long a change takes to become searchable (HubSpot: a few seconds)."""
    return SearchEngine(portal, object_type, request, lag_ms).run()
