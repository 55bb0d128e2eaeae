"""`.ci/run` in CI: a PostgreSQL that should be there and is not fails the run, in one line,
before any lint or test runs (otherwise every PostgreSQL test is skipped and CI is green)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.fixtures.store import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def closed_address() -> Iterator[str]:
    """host:port where nothing listens: the port is held by a socket that never listens."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{held.getsockname()[1]}"


def run_script(script: str, address: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "TEST_POSTGRES_URL"}}
    env["CI_POSTGRES_ADDRESS"] = address
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        ["bash", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_ci_fails_in_one_line_when_postgresql_is_unreachable(closed_address: str) -> None:
    result = run_script(".ci/run", closed_address, ci=True)
    assert result.returncode == 1
    assert result.stdout == ""  # nothing else ran: no lint, no tests
    assert result.stderr.splitlines() == [
        f"CI failed: PostgreSQL is not reachable at {closed_address}, so its tests would be skipped"
    ]


def test_outside_ci_an_unreachable_postgresql_only_skips_its_tests(closed_address: str) -> None:
    result = run_script(".ci/postgres", closed_address, ci=False)
    assert result.returncode == 0
    assert result.stdout == ""  # no TEST_POSTGRES_URL
    assert "PostgreSQL tests will be skipped" in result.stderr


@pytest.mark.postgres
def test_a_reachable_postgresql_is_handed_to_the_tests() -> None:
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL is not set: no PostgreSQL to find")
    url = make_url(POSTGRES_URL)
    address = f"{url.host}:{url.port or 5432}"
    result = run_script(".ci/postgres", address, ci=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"postgresql+psycopg://postgres@{address}/test"
