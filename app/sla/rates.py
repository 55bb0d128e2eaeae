"""Rates and metrics: a numerator cohort over a denominator cohort (acceptance, conversion,
close rate), or a deal metric (median sales cycle, average deal value, pipeline velocity),
held to a minimum or maximum once the sample is large enough."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from statistics import median

from app.sla.schema import RateRule


@dataclass(frozen=True, slots=True)
class ClosedDeal:
    created_at: datetime | None
    closed_at: datetime
    amount: Decimal | None
    won: bool


@dataclass(frozen=True, slots=True)
class RateValue:
    value: float | None
    sample: int
    numerator: int | None = None


def cohort_rate(
    denominator: Mapping[str, datetime], numerator: Mapping[str, datetime]
) -> RateValue:
    """Share of the denominator cohort (record -> entry time) that entered the numerator at
    or after entering the denominator."""
    hits = sum(
        1
        for record, entered in denominator.items()
        if numerator.get(record, entered) >= entered and record in numerator
    )
    size = len(denominator)
    return RateValue(hits / size if size else None, size, hits)


def deal_metric(metric: str, closed: Sequence[ClosedDeal], open_deals: int) -> RateValue:
    won = [deal for deal in closed if deal.won]
    cycles = [
        (deal.closed_at - deal.created_at).total_seconds() / 86400
        for deal in won
        if deal.created_at is not None
    ]
    amounts = [float(deal.amount) for deal in won if deal.amount is not None]
    if metric == "median_sales_cycle_days":
        return RateValue(median(cycles) if cycles else None, len(cycles))
    if metric == "average_deal_value":
        return RateValue(sum(amounts) / len(amounts) if amounts else None, len(amounts))
    if metric == "pipeline_velocity":
        # (open opportunities x average deal value x win rate) / average sales cycle (days)
        if not cycles or not amounts or not closed:
            return RateValue(None, len(won))
        win_rate = len(won) / len(closed)
        average_cycle = sum(cycles) / len(cycles)
        velocity = open_deals * (sum(amounts) / len(amounts)) * win_rate / max(average_cycle, 1e-9)
        return RateValue(velocity, len(won))
    raise ValueError(f"unknown metric {metric!r}")


def within_bounds(rule: RateRule, value: RateValue) -> bool | None:
    """True/False against the bounds; None when the sample is too small to judge."""
    if value.value is None or value.sample < rule.min_sample:
        return None
    if rule.minimum is not None and value.value < rule.minimum:
        return False
    return not (rule.maximum is not None and value.value > rule.maximum)
