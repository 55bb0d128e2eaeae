"""`slaguard rules backtest FILE` as an admin runs it: a real process on the store."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.evaluation.reports import rule_compliance
from app.evaluation.rules_store import activate_rules
from app.evaluation.service import evaluate_all
from tests.fixtures.backtest import NOW, clear_sla_state, row_counts, seed_history, write_rules

ROOT = Path(__file__).resolve().parents[3]
# The fixture's history is dated; a window of ten years holds it whenever the test runs.
SINCE = "3650d"


def slaguard(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLAGUARD_RULES")}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def printed_rules(stdout: str) -> dict[str, list[str]]:
    """The per-rule table's cells by rule id: kind, change, measure, in force, candidate, …"""
    rows = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 7:
            rows[cells[0]] = cells[1:]
    return rows


def printed_reps(stdout: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 4 and cells[0] != "rule":
            rows[(cells[0], cells[1])] = (cells[2], cells[3])
    return rows


@pytest.fixture
def store(session: Session, tmp_path: Path) -> tuple[Path, Path]:
    seed_history(session)
    in_force, candidate = write_rules(tmp_path)
    activate_rules(session, in_force, NOW - timedelta(days=100))
    evaluate_all(session, now=NOW)
    session.commit()
    return in_force, candidate


def _on_time_after_evaluate(session: Session, path: Path) -> dict[str, str]:
    """On-time shares a full `evaluate` stores with the rules at `path` put in force on an
    empty SLA state (the test's throw-away store stands for the copy)."""
    clear_sla_state(session)
    now = datetime.now(UTC)
    activate_rules(session, path, now)
    evaluate_all(session, now=now)
    return {
        row.rule_id: f"{row.compliance:.0%}"
        for row in rule_compliance(session, None, since=now - timedelta(days=3650))
        if row.compliance is not None
    }


def test_backtest_prints_what_evaluate_would_store_and_writes_nothing(
    session: Session, database_url: str, store: tuple[Path, Path], tmp_path: Path
) -> None:
    in_force, candidate = store
    before = row_counts(session)
    session.rollback()
    done = slaguard(database_url, tmp_path, "rules", "backtest", str(candidate), "--since", SINCE)
    assert done.returncode == 0, done.stderr
    assert row_counts(session) == before
    rules = printed_rules(done.stdout)
    assert rules["first-touch"][:5] == ["response", "changed", "on time", "25%", "50%"]
    assert rules["lead-age"][1] == "unchanged"
    assert rules["weekly-mqls"][1:3] == ["new", "attainment"]
    assert "10 of 10 periods met" in rules["weekly-mqls"][5]
    assert printed_reps(done.stdout) == {
        ("first-touch", "7"): ("10", "10"),
        ("first-touch", "8"): ("20", "10"),
    }
    session.rollback()
    expected = _on_time_after_evaluate(session, candidate)
    assert rules["first-touch"][4] == expected["first-touch"]
    assert rules["lead-age"][4] == expected["lead-age"]
    assert rules["first-touch"][3] == _on_time_after_evaluate(session, in_force)["first-touch"]


def test_backtest_in_two_worker_processes_prints_the_same(
    session: Session, database_url: str, store: tuple[Path, Path], tmp_path: Path
) -> None:
    _, candidate = store
    session.rollback()
    args = ("rules", "backtest", str(candidate), "--since", SINCE)
    one = slaguard(database_url, tmp_path, *args, "--workers", "1")
    two = slaguard(database_url, tmp_path, *args, "--workers", "2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert printed_rules(two.stdout) == printed_rules(one.stdout)
    assert printed_reps(two.stdout) == printed_reps(one.stdout)


def test_a_bad_file_gets_the_rules_check_errors_with_lines(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'store.db'}"  # never opened: the file is checked first
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    kind: response\n    goal: 4\n")
    done = slaguard(database_url, tmp_path, "rules", "backtest", str(bad))
    check = slaguard(database_url, tmp_path, "rules", "check", str(bad))
    assert done.returncode == 1
    assert f"{bad}, line 4: rules[0].goal" in done.stderr
    assert done.stderr == check.stderr


def test_since_must_be_a_duration(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'store.db'}"
    done = slaguard(database_url, tmp_path, "rules", "backtest", "x.yaml", "--since", "lately")
    assert done.returncode != 0
    assert "--since expects a duration such as 90d" in done.stderr
