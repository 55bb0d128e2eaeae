"""The scheduled posts' job: every minute, the weekly scorecard and the morning digests whose
time has come are written to the outbox (once per period: see alerts.outbox.posts); the
alert delivery job sends them like any alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerts.outbox.digest_post import plan_digests
from alerts.outbox.scorecard_post import plan_scorecards, record_posts
from app.config import Settings
from app.scheduler import JobContext, JobSpec
from app.store.db import SessionFactory, write_scope

# The scorecard is due at a minute of the week, a digest at a rep's first working minute.
POSTS_SECONDS = 60.0


def post_due(factory: SessionFactory, now: datetime) -> int:
    """Plan what is due (reading, possibly slowly), then record it in a short write; returns
    how many posts were new. Safe to run from two processes at once."""
    with factory() as session:
        planned = plan_scorecards(session, now) + plan_digests(session, now)
    if not planned:
        return 0
    with write_scope(factory) as session:
        return record_posts(session, planned, now)


def posts_job(clock: Callable[[], datetime]) -> Callable[[JobContext], None]:
    """The job's function, reading the time from `clock` (tests fix it)."""

    def run(context: JobContext) -> None:
        new = post_due(context.session_factory, clock())
        if new:
            context.log.info("scheduled posts: %d scorecards and digests queued", new)

    return run


def post_jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "alerts-posts",
            posts_job(lambda: datetime.now(UTC)),
            POSTS_SECONDS,
            "queue the weekly scorecard and the reps' morning digests when they are due",
        )
    ]
