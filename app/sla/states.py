"""The states an SLA instance is in and the events it goes through, each named once.

Both are stored (`sla_instances.state`, `sla_events.type`): the values never change. A member
is a `str`, so it compares and hashes equal to the text read back from the store.
"""

from __future__ import annotations

from enum import StrEnum


class SlaState(StrEnum):
    # a clock cycle (response, cadence, stage age)
    RUNNING = "running"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"
    # a quota period or a rate window (which may also be `met`)
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"


class SlaEventType(StrEnum):
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"
    AT_RISK = "at_risk"
    RESOLVED = "resolved"  # a period back on track after being at risk or missed
    MISSED = "missed"
    # Made by the alerting side, not the engine: an escalation step or a reminder that fired
    # while the instance stayed breached (`sla_events.follow_up` tells them apart).
    ESCALATED = "escalated"
    REMINDER = "reminder"


# A clock cycle that still moves with time, and one whose verdict is final.
RUNNING_CLOCK_STATES = frozenset({SlaState.RUNNING, SlaState.WARNING, SlaState.BREACHED})
FINISHED_CLOCK_STATES = frozenset({SlaState.MET, SlaState.MET_LATE, SlaState.CANCELLED})
