"""The rules file changing under a running service: broken, deleted, fixed. One log line per
change of state and no traceback; the stored rules stay in force; health says why it is
degraded; `serve` refuses an invalid file unless rules are already stored."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.admin.health import check_health
from app.config import Settings
from app.evaluation import repository
from app.evaluation.jobs import refresh_rules
from app.scheduler import JobContext
from app.store.db import SessionFactory, session_scope
from tests.fixtures.api import ADMIN_TOKEN
from tests.fixtures.rules import rules_file
from tests.fixtures.slaguard_process import slaguard_environ

RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 1h
    time: calendar
"""
# `goal` has a value the schema refuses (a user error with a line number)
BAD_GOAL = RULES.replace("goal: 1h", "goal: 4 hours")
JOB_LOG = "slaguard.jobs.sla-rules"


@pytest.fixture
def rules_job(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> tuple[Path, Callable[[], None], Settings]:
    path = rules_file(tmp_path, RULES)
    settings = Settings(database_url=database_url, slaguard_rules=path, _env_file=None)  # type: ignore[call-arg]
    context = JobContext(settings, session_factory, logging.getLogger(JOB_LOG))
    return path, lambda: refresh_rules(context), settings


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = [r for r in caplog.records if r.name == JOB_LOG or r.name.startswith("app.")]
    caplog.clear()
    return [r for r in records if r.levelno >= logging.INFO and "rules file" in r.getMessage()]


def _fingerprint(session_factory: SessionFactory) -> str | None:
    with session_scope(session_factory) as session:
        return repository.latest_rule_set_fingerprint(session)


def _health(settings: Settings, session_factory: SessionFactory) -> dict[str, Any]:
    return check_health(settings, session_factory, None, datetime.now(UTC))


def test_a_broken_then_deleted_then_fixed_file_logs_one_line_per_change(
    rules_job: tuple[Path, Callable[[], None], Settings],
    session_factory: SessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path, run, _ = rules_job
    caplog.set_level(logging.INFO)
    run()
    in_force = _fingerprint(session_factory)
    assert in_force is not None
    caplog.clear()

    path.write_text(path.read_text().replace("goal: 1h", "goal: 4 hours"))
    for _ in range(3):  # every 30 s in the service: said once
        run()
    (line,) = _lines(caplog)
    message = line.getMessage()
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert message.startswith(f"rules file {path} is invalid at line ")
    assert "goal" in message and "the rules activated at " in message
    assert message.endswith("stay in force")
    assert "Traceback" not in caplog.text
    assert _fingerprint(session_factory) == in_force

    path.write_text("rules: [unclosed\n")  # another mistake is another state
    run()
    run()
    (line,) = _lines(caplog)
    assert "is invalid at line" in line.getMessage() and "YAML" in line.getMessage()

    path.unlink()
    run()
    run()
    (line,) = _lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith(f"rules file {path} is missing; the rules activated at ")
    assert line.getMessage().endswith("stay in force")
    assert _fingerprint(session_factory) == in_force

    rules_file(path.parent, RULES.replace("goal: 1h", "goal: 2h"))
    run()
    run()
    (line,) = _lines(caplog)
    assert line.levelno == logging.INFO and "in force" in line.getMessage()
    assert _fingerprint(session_factory) != in_force


def test_health_is_degraded_with_the_reason_while_the_file_is_invalid_or_missing(
    rules_job: tuple[Path, Callable[[], None], Settings], session_factory: SessionFactory
) -> None:
    path, run, settings = rules_job
    run()
    assert not [r for r in _health(settings, session_factory)["reasons"] if "rules" in r]

    path.write_text(path.read_text().replace("goal: 1h", "goal: 4 hours"))
    body = _health(settings, session_factory)
    assert body["status"] == "degraded"
    (reason,) = [r for r in body["reasons"] if "rules file" in r]
    assert reason.startswith(f"rules file {path} is invalid at line ")
    assert "the rules activated at " in reason

    path.unlink()
    (reason,) = [r for r in _health(settings, session_factory)["reasons"] if "rules file" in r]
    assert reason.startswith(f"rules file {path} is missing")

    rules_file(path.parent, RULES)
    assert not [r for r in _health(settings, session_factory)["reasons"] if "rules" in r]


# -- serve at start ------------------------------------------------------------------------


SERVE = [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", "0"]


def _serve_env(database_url: str, path: Path) -> dict[str, str]:
    return slaguard_environ(
        DATABASE_URL=database_url,
        SLAGUARD_RULES=str(path),
        SLAGUARD_LOG_LEVEL="INFO",
        SLAGUARD_ADMIN_TOKEN=ADMIN_TOKEN,
    )


@pytest.fixture
def serving() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait(timeout=30)


def test_serve_refuses_an_invalid_rules_file_when_no_rules_are_stored(
    database_url: str, tmp_path: Path
) -> None:
    path = rules_file(tmp_path, BAD_GOAL)
    done = subprocess.run(
        SERVE,
        env=_serve_env(database_url, path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert f"{path}" in errors[0] and "line " in errors[0] and "goal" in errors[0]
    assert "Traceback" not in done.stderr and "http://" not in done.stdout


def test_serve_starts_with_the_stored_rules_and_says_so_when_the_file_is_invalid(
    rules_job: tuple[Path, Callable[[], None], Settings],
    database_url: str,
    serving: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    path, run, _ = rules_job
    run()  # rules stored
    path.write_text(path.read_text().replace("goal: 1h", "goal: 4 hours"))
    process = subprocess.Popen(
        SERVE,
        env=_serve_env(database_url, path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    serving.append(process)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True)
    reader.start()
    assert process.stdout is not None
    announced = process.stdout.readline()
    assert announced.startswith("slaguard: http://")  # it started
    url = announced.split(": ", 1)[1].strip()

    def rules_job_ran() -> bool:
        answer = httpx.get(
            f"{url}/admin/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        return answer.json()["scheduler"]["jobs"] and any(
            job["id"] == "sla-rules" and job["runs"] >= 1
            for job in answer.json()["scheduler"]["jobs"]
        )

    deadline = time.monotonic() + 60  # bounds a broken run; asserts no speed
    while not rules_job_ran():
        assert time.monotonic() < deadline, "the rules job never ran"
        time.sleep(0.1)
    said = [line for line in errors if "rules file" in line]
    assert len(said) == 1, errors  # said at start, not again by the job
    assert f"rules file {path} is invalid at line " in said[0] and "stay in force" in said[0]
    assert not any("Traceback" in line for line in errors)
