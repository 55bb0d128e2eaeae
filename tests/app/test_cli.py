"""The `slaguard` command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SLAGUARD = [sys.executable, "-c", "from app.cli import main; main()"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLAGUARD_RULES")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        SLAGUARD + args, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL is not a SQLAlchemy URL"),
        (
            {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"},
            "Cannot connect to the database at postgresql+psycopg://postgres@127.0.0.1:1/none",
        ),
        ({"SLAGUARD_RULES": "/no/such/rules.yaml"}, "SLAGUARD_RULES points at /no/such/rules.yaml"),
    ],
)
def test_bad_configuration_is_one_sentence_and_non_zero(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run(["db", "upgrade"], env, tmp_path)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_password_never_printed(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:hunter2secret@127.0.0.1:1/none"
    result = run(["db", "upgrade"], {"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 1
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "***" in result.stderr


def test_db_upgrade_creates_sqlite_schema(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    result = run(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{db}"}, tmp_path)
    assert result.returncode == 0, result.stderr
    result = run(["db", "current"], {"DATABASE_URL": f"sqlite:///{db}"}, tmp_path)
    current, head = result.stdout.split()[1], result.stdout.split()[3]
    assert current == head != "empty"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_health_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLAGUARD_RULES")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [*SLAGUARD, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stdout.read() if proc.stdout else "no output"
                    ) from None
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert (tmp_path / "slaguard.db").exists()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert f"slaguard: http://127.0.0.1:{port}" in output
