"""What `slaguard status` prints, as a user reads it: in a narrow terminal, through a pipe,
into `head`. Real processes, real pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.store.db import create_db_engine, create_session_factory, session_scope
from tests.fixtures.crm import add_contact, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

ROOT = Path(__file__).resolve().parents[3]
LONG_ID = "enterprise-inbound-mql-first-touch-within-four-business-hours"
RULES = f"""  - id: {LONG_ID}
    kind: response
    start: {{entered_stage: marketingqualifiedlead}}
    stop: {{engagement: {{types: [call]}}}}
    goal: 4h
  - id: short
    kind: response
    start: {{entered_stage: marketingqualifiedlead}}
    stop: {{engagement: {{types: [call]}}}}
    goal: 4h
"""
BREACHED, MET = 1000, 105


def _env(store: Path, columns: int = 160) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLAGUARD_RULES")}
    env.update(
        DATABASE_URL=f"sqlite:///{store / 'store.db'}",
        SLAGUARD_RULES=str(store / "sla.yaml"),
        PYTHONPATH=str(ROOT),
        COLUMNS=str(columns),
    )
    return env


SLAGUARD = [sys.executable, "-c", "from app.cli import main; main()"]


def slaguard(store: Path, *args: str, columns: int = 160) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLAGUARD, *args],
        env=_env(store, columns),
        cwd=store,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store where each rule has 1,000 breached and 105 met first touches."""
    folder = tmp_path_factory.mktemp("status")
    rules_file(folder, RULES)
    assert slaguard(folder, "db", "upgrade").returncode == 0
    engine = create_db_engine(f"sqlite:///{folder / 'store.db'}")
    start = utc("2020-01-06 15:00")
    with session_scope(create_session_factory(engine)) as session:
        seed_portal(session)
        for number in range(BREACHED + MET):
            contact = str(number + 1)
            add_contact(
                session,
                contact,
                [("lead", start - timedelta(hours=1)), ("marketingqualifiedlead", start)],
            )
            if number < MET:
                add_touch(session, f"e{contact}", contact, start + timedelta(minutes=30))
    engine.dispose()
    evaluated = slaguard(folder, "evaluate")
    assert evaluated.returncode == 0, evaluated.stderr
    return folder


def _rule_id_from_first_tokens(lines: list[str], rule_id: str) -> tuple[str, int]:
    """The rule id as printed, maybe folded over several lines, each piece first on its line;
    and the index of the line it starts on."""
    start = next(
        i
        for i, line in enumerate(lines)
        if line.split()[:1] == [rule_id[:8]]
        or (line.split() and rule_id.startswith(line.split()[0]) and len(line.split()[0]) >= 8)
    )
    found = ""
    for line in lines[start:]:
        piece = line.split()[0] if line.split() else ""
        if not piece or not rule_id.startswith(found + piece):
            break
        found += piece
    return found, start


@pytest.mark.parametrize("width", [80, 40])
def test_status_fits_the_terminal_and_never_cuts_a_number(store: Path, width: int) -> None:
    result = slaguard(store, "status", columns=width)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, result.stdout
    assert "…" not in result.stdout
    name, start = _rule_id_from_first_tokens(lines, LONG_ID)
    assert name == LONG_ID, result.stdout
    text = " ".join(line.strip() for line in lines[start:])
    if width == 80:  # a table: the row's counts in column order, each whole
        # running, warning, breached, met, met late, cancelled, paused, on time
        assert lines[start].split()[1:] == ["0", "0", str(BREACHED), str(MET), "0", "0", "0", "10%"]
    else:  # too narrow for the table: each rule with its counts named
        for label, value in (("breached", BREACHED), ("met", MET), ("on time", "10%")):
            assert f"{label} {value}" in text, result.stdout
    assert "response" in text


def test_status_into_head_ends_quietly_with_zero(store: Path) -> None:
    for output in ("json", "table"):
        pipeline = subprocess.run(
            ["bash", "-o", "pipefail", "-c", '"$@" | head -n 1', "bash", *SLAGUARD,
             "status", "--format", output],
            env=_env(store),
            cwd=store,
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        assert (pipeline.returncode, pipeline.stderr) == (0, ""), output
        assert len(pipeline.stdout.splitlines()) == 1


@pytest.mark.parametrize("args", [("status", "--format", "json"), ("status",), ("version",)])
def test_a_reader_gone_before_the_first_line_is_not_an_error(
    store: Path, args: tuple[str, ...]
) -> None:
    process = subprocess.Popen(
        [*SLAGUARD, *args],
        env=_env(store),
        cwd=store,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before anything is written
    stderr = process.stderr.read()
    assert (process.wait(timeout=120), stderr) == (0, b"")
