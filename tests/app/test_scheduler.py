"""The scheduler on real databases: failures stay contained, jobs never overlap, and exactly
one process leads (advisory lock on PostgreSQL, file lock on SQLite), with takeover."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from app.config import Settings
from app.leader import APPLICATION_NAME, LOCK_CLASS_ID
from app.main import create_app
from app.scheduler import JobContext, JobSpec, Scheduler
from app.store.db import SessionFactory
from tests.fixtures.waiting import wait_for

INTERVAL = 0.05
LEADER_CHECK = 0.1


@pytest.fixture
def make_scheduler(
    settings: Settings, session_factory: SessionFactory
) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def make(jobs: list[JobSpec], settings_: Settings = settings) -> Scheduler:
        scheduler = Scheduler(settings_, session_factory, jobs, leader_check_seconds=LEADER_CHECK)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        scheduler.shutdown()


def counting_job(job_id: str, calls: list[datetime]) -> JobSpec:
    def run(context: JobContext) -> None:
        # A real round trip through the session the job was handed.
        with context.session_factory() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        calls.append(datetime.now(UTC))

    return JobSpec(job_id, run, INTERVAL)


def failing_job(job_id: str) -> JobSpec:
    def run(context: JobContext) -> None:
        raise RuntimeError("HubSpot said no")

    return JobSpec(job_id, run, INTERVAL)


def test_a_failing_job_keeps_running_and_so_do_the_others(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    calls: list[datetime] = []
    scheduler = make_scheduler([failing_job("broken"), counting_job("healthy", calls)])

    wait_for(lambda: scheduler.status().job("broken").failures >= 3, "three failed runs")
    wait_for(lambda: len(calls) >= 3, "three runs of the healthy job")

    status = scheduler.status()
    broken, healthy = status.job("broken"), status.job("healthy")
    assert status.running and status.leader
    assert broken.last_error == "RuntimeError: HubSpot said no"
    assert broken.consecutive_failures == broken.failures
    assert broken.last_succeeded_at is None
    assert healthy.failures == 0 and healthy.last_error is None
    assert healthy.last_succeeded_at is not None
    assert healthy.next_run_at is not None
    assert status.to_dict()["jobs"][0]["last_error"] == "RuntimeError: HubSpot said no"


def test_a_job_that_recovers_clears_its_failure_streak(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    attempts: list[int] = []

    def flaky(context: JobContext) -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise ConnectionError("portal unreachable")

    scheduler = make_scheduler([JobSpec("flaky", flaky, INTERVAL)])
    wait_for(lambda: scheduler.status().job("flaky").last_succeeded_at is not None, "a success")
    job = scheduler.status().job("flaky")
    assert job.failures == 2
    assert job.consecutive_failures == 0
    assert job.last_error == "ConnectionError: portal unreachable"  # kept for the health page


def test_secrets_never_reach_the_log_or_the_status(
    settings: Settings,
    make_scheduler: Callable[..., Scheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "pat-na1-0123456789abcdef"
    with_token = settings.model_copy(update={"hubspot_access_token": SecretStr(token)})

    def leaky(context: JobContext) -> None:
        raise PermissionError(f"token {token} was rejected")

    caplog.set_level(logging.ERROR, logger="app.scheduler")
    scheduler = make_scheduler([JobSpec("leaky", leaky, INTERVAL)], with_token)
    wait_for(lambda: scheduler.status().job("leaky").failures >= 1, "a failed run")

    assert scheduler.status().job("leaky").last_error == "PermissionError: token *** was rejected"
    assert "job leaky failed" in caplog.text
    assert token not in caplog.text


def test_a_slow_job_never_overlaps_itself(make_scheduler: Callable[..., Scheduler]) -> None:
    release = threading.Event()
    running = 0
    most_at_once = 0
    guard = threading.Lock()

    def slow(context: JobContext) -> None:
        nonlocal running, most_at_once
        with guard:
            running += 1
            most_at_once = max(most_at_once, running)
        release.wait(timeout=30)
        with guard:
            running -= 1

    scheduler = make_scheduler([JobSpec("slow", slow, INTERVAL)])
    # Several of its start times pass while the first run is still busy.
    wait_for(lambda: scheduler.status().job("slow").skipped_overlaps >= 3, "skipped starts")
    assert scheduler.status().job("slow").running
    release.set()
    wait_for(lambda: scheduler.status().job("slow").runs >= 2, "a second run after release")
    assert most_at_once == 1


def test_a_skipped_overlapping_run_is_logged_at_debug_not_as_a_warning(
    make_scheduler: Callable[..., Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    """APScheduler warns each time a busy job's start passes; for a 1-second worker that is a
    warning a second about something that is meant to happen."""
    release = threading.Event()
    scheduler = make_scheduler(
        [JobSpec("busy", lambda context: release.wait(timeout=30) and None, INTERVAL)]
    )
    # After start(), which quiets APScheduler's per-run INFO lines: here DEBUG is wanted.
    caplog.set_level(logging.DEBUG, logger="apscheduler.scheduler")
    skipped_before = scheduler.status().job("busy").skipped_overlaps
    wait_for(
        lambda: scheduler.status().job("busy").skipped_overlaps >= skipped_before + 3,
        "skipped starts",
    )
    release.set()
    skipped = [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert skipped, "APScheduler should still say it skipped a start (at DEBUG)"
    assert all(r.levelno == logging.DEBUG for r in skipped)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_job_can_wait_one_interval_before_its_first_run(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    eager_calls: list[datetime] = []
    hourly = JobSpec("hourly", lambda context: None, 3600, run_at_start=False)
    eager = JobSpec("eager", lambda context: eager_calls.append(datetime.now(UTC)), 3600)
    scheduler = make_scheduler([hourly, eager])
    wait_for(lambda: len(eager_calls) == 1, "the eager job's first run")
    status = scheduler.status()
    assert status.leader_since is not None
    assert status.job("hourly").runs == 0
    assert status.job("hourly").next_run_at == status.leader_since + timedelta(hours=1)


def test_shutdown_tells_a_long_job_to_stop(make_scheduler: Callable[..., Scheduler]) -> None:
    started = threading.Event()
    told_to_stop: list[bool] = []

    def long_sync(context: JobContext) -> None:
        started.set()
        told_to_stop.append(context.stopping.wait(timeout=60))

    scheduler = make_scheduler([JobSpec("long", long_sync, 3600)])
    assert started.wait(timeout=30)
    scheduler.shutdown()  # waits for the job, which returns once it is told to stop
    assert told_to_stop == [True]
    assert scheduler.status().job("long").runs == 1


def test_exactly_one_scheduler_leads_and_the_other_takes_over(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    first_calls: list[datetime] = []
    second_calls: list[datetime] = []
    first = make_scheduler([counting_job("tick", first_calls)])
    wait_for(lambda: first.status().leader, "the first scheduler to lead")
    second = make_scheduler([counting_job("tick", second_calls)])
    wait_for(lambda: second.status().last_leader_check_at is not None, "the second to try")

    # The follower keeps trying and keeps losing while the leader lives.
    checked = second.status().last_leader_check_at
    wait_for(lambda: second.status().last_leader_check_at != checked, "another attempt")
    wait_for(lambda: len(first_calls) >= 3, "the leader's jobs to run")
    assert first.status().leader and not second.status().leader
    assert second_calls == []
    assert second.status().job("tick").next_run_at is None  # paused, not merely idle

    first.shutdown()
    wait_for(lambda: second.status().leader, "the second scheduler to take over")
    wait_for(lambda: len(second_calls) >= 2, "the new leader's jobs to run")
    assert not first.status().leader


HOLD_LOCK = """
import sys
from app.leader import leader_lock_for
lock = leader_lock_for(sys.argv[1])
print("held" if lock.hold() else "lost", flush=True)
sys.stdin.read()
"""


def test_leadership_passes_on_when_the_leading_process_crashes(
    database_url: str, make_scheduler: Callable[..., Scheduler]
) -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert leader.stdout is not None
        assert leader.stdout.readline().strip() == "held"
        calls: list[datetime] = []
        follower = make_scheduler([counting_job("tick", calls)])
        attempts: set[datetime | None] = set()

        def tried_a_few_times() -> bool:
            attempts.add(follower.status().last_leader_check_at)
            return len(attempts - {None}) >= 3

        wait_for(tried_a_few_times, "the follower to try a few times")
        assert not follower.status().leader and calls == []
        # No clean shutdown: the kernel drops the flock, PostgreSQL ends the session.
        leader.kill()
        leader.wait(timeout=30)
        wait_for(lambda: follower.status().leader, "the follower to take over")
        wait_for(lambda: len(calls) >= 1, "the new leader's jobs to run")
    finally:
        leader.kill()
        leader.wait(timeout=30)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_leader_whose_connection_dies_steps_down_and_leadership_recovers(
    database_url: str, make_scheduler: Callable[..., Scheduler]
) -> None:
    first = make_scheduler([counting_job("tick", [])])
    wait_for(lambda: first.status().leader, "a leader")
    second = make_scheduler([counting_job("tick", [])])

    killed_at = datetime.now(UTC)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        terminated = connection.execute(
            text(
                # Only the lock holder: followers open short-lived connections to try.
                "SELECT count(pg_terminate_backend(activity.pid)) FROM pg_stat_activity activity"
                " JOIN pg_locks lock ON lock.pid = activity.pid"
                " WHERE activity.application_name = :name"
                " AND activity.datname = current_database()"
                " AND lock.locktype = 'advisory' AND lock.granted AND lock.classid = :class_id"
            ),
            {"name": APPLICATION_NAME, "class_id": LOCK_CLASS_ID},
        ).scalar_one()
    admin.dispose()
    assert terminated == 1

    def new_leader() -> bool:
        leaders = [s.status() for s in (first, second) if s.status().leader]
        return len(leaders) == 1 and (leaders[0].leader_since or killed_at) > killed_at

    wait_for(new_leader, "a leader elected after the connection died")
    assert not (first.status().leader and second.status().leader)


def test_serve_starts_the_scheduler_and_stops_it_on_shutdown(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        scheduler = app.state.scheduler
        wait_for(lambda: scheduler.status().leader, "the service's scheduler to lead")
        assert scheduler.status().running
    assert not scheduler.status().running
    assert not scheduler.status().leader


def test_route_tests_can_run_without_a_scheduler(settings: Settings) -> None:
    app = create_app(settings, start_scheduler=False)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert app.state.scheduler is None


def test_bad_job_declarations_are_refused(
    settings: Settings, session_factory: SessionFactory
) -> None:
    def nothing(context: JobContext) -> None:
        return None

    with pytest.raises(ValueError, match="positive interval"):
        JobSpec("sync", nothing, 0)
    with pytest.raises(ValueError, match="must be non-empty"):
        JobSpec("_leadership", nothing, 1)
    with pytest.raises(ValueError, match="repeated: sync"):
        Scheduler(settings, session_factory, [JobSpec("sync", nothing, 1)] * 2)
