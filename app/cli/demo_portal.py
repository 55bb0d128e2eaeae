"""The demo's sandbox portal, set in a working week whose reps are at work now.

The sandbox lives in the calendar `app.demo.workweek` picks for the moment the demo starts;
the demo's rules count business time in the same calendar; and the last working hours before
now are replayed, so the demo opens on a day under way: leads met in time, some answered late,
some breached a moment ago, and some about to breach while one watches.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

from app.demo.workweek import Workweek, with_workweek
from sandbox.portal.calendar import WorkingHours
from sandbox.server import SandboxOptions, SandboxServer

# The working hours replayed before the demo starts, one tick every REPLAY_STEP_MS: about as
# many new MQLs as the base portal got in its last month, each with its clock somewhere
# between just started and long breached.
REPLAY_HOURS = 3.0
REPLAY_STEP_MS = 10_000


def working_hours(week: Workweek) -> WorkingHours:
    return WorkingHours(week.time_zone, week.days, week.open_hour, week.close_hour)


def sandbox_options(
    week: Workweek, contacts: int, seed: int, now: datetime, *, background_webhooks: bool = True
) -> SandboxOptions:
    """A portal whose history ends at `now`, its reps working in `week`."""
    return SandboxOptions(
        contacts=contacts,
        seed=seed,
        webhook_delivery="background" if background_webhooks else "manual",
        anchor_ms=int(now.timestamp() * 1000),
        working_hours=working_hours(week),
    )


def replay_working_hours(sandbox: SandboxServer, now: datetime) -> int:
    """The last REPLAY_HOURS of working time before `now`, as the sandbox's reps and marketing
    lived them; before the first sync, so it reads them. Returns the ticks replayed."""
    activity = sandbox.emulator.activity
    return activity.replay_working_hours(REPLAY_HOURS, int(now.timestamp() * 1000), REPLAY_STEP_MS)


def demo_rules_text(week: Workweek) -> str:
    """The demo's shipped rules, their calendar set to the reps' working week."""
    shipped = files("app.demo").joinpath("rules.yaml").read_text(encoding="utf-8")
    return with_workweek(shipped, week)
