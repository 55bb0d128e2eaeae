"""`slaguard sync` as a user runs it: a summary on success, one sentence and exit 1 on failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.slaguard_process import sandbox_environ

SYNC = [sys.executable, "-c", "from app.cli import main; main()", "sync"]


def _run(args: list[str], database_url: str, sandbox, token: str | None = None, cwd=None):
    env = sandbox_environ(database_url, sandbox, HUBSPOT_ACCESS_TOKEN=token or sandbox.token)
    return subprocess.run(
        SYNC + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.sandbox(contacts=60, limits=False)
def test_sync_logs_each_type_and_prints_a_summary(sqlite_url, sandbox, tmp_path) -> None:
    done = _run(["--full"], sqlite_url, sandbox, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sync done" in done.stdout and "records read" in done.stdout
    assert "syncing contacts" in done.stderr and "synced tasks" in done.stderr  # plain log lines


@pytest.mark.sandbox(contacts=20, limits=False)
def test_a_rejected_token_is_one_sentence_and_exit_1(sqlite_url, sandbox, tmp_path) -> None:
    done = _run([], sqlite_url, sandbox, token="pat-na1-revoked-token", cwd=tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HUBSPOT_ACCESS_TOKEN" in errors[0]
    assert "revoked-token" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.sandbox(contacts=20, limits=False)
def test_an_unknown_object_type_is_one_sentence(sqlite_url, sandbox, tmp_path) -> None:
    done = _run(["--objects", "contacts,tickets"], sqlite_url, sandbox, cwd=tmp_path)
    assert done.returncode == 1
    assert "Cannot sync tickets" in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_hubspot_is_one_sentence(sqlite_url, tmp_path) -> None:
    class Nowhere:
        token = "pat-na1-anything"
        hubspot_url = "http://127.0.0.1:9"  # discard port: nobody answers

    env_timeout = {"args": [], "database_url": sqlite_url, "sandbox": Nowhere(), "cwd": tmp_path}
    done = _run(**env_timeout)
    assert done.returncode == 1
    assert "did not answer" in done.stderr and "Traceback" not in done.stderr
    assert "http://127.0.0.1:9" in done.stderr and "pat-na1-anything" not in done.stderr


def test_without_a_token_the_sync_says_which_setting_is_missing(sqlite_url, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    env["DATABASE_URL"] = sqlite_url
    done = subprocess.run(SYNC, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HUBSPOT_ACCESS_TOKEN is not set" in errors[0]
    assert "Traceback" not in done.stderr
