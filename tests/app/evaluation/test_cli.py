"""`slaguard evaluate` and `slaguard status` as an admin runs them: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.store.db import create_db_engine, create_session_factory, session_scope
from tests.fixtures.crm import add_mql, add_touch, seed_portal, utc
from tests.fixtures.rules import rules_file

ROOT = Path(__file__).resolve().parents[3]
RULES = """  - id: first-touch
    kind: response
    start: {entered_stage: marketingqualifiedlead}
    stop: {engagement: {types: [call]}}
    goal: 4h
"""


def slaguard(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLAGUARD_RULES")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        SLAGUARD_RULES=str(tmp_path / "sla.yaml"),
        PYTHONPATH=str(ROOT),
        COLUMNS="160",
    )
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_evaluate_then_status_table_and_json_lines(tmp_path: Path) -> None:
    rules_file(tmp_path, RULES)
    first = slaguard(tmp_path, "evaluate")  # migrates the new SQLite store, nothing to evaluate
    assert first.returncode == 0, first.stderr
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with session_scope(create_session_factory(engine)) as session:
        seed_portal(session)
        add_mql(session, "1", utc("2020-01-06 15:00"))
        add_mql(session, "2", utc("2020-01-06 15:00"))
        add_touch(session, "e1", "1", utc("2020-01-06 16:00"))
    engine.dispose()
    second = slaguard(tmp_path, "evaluate")
    assert second.returncode == 0, second.stderr
    assert "2 records evaluated, 2 instances created" in second.stdout
    table = slaguard(tmp_path, "status")
    assert table.returncode == 0, table.stderr
    (line,) = [row for row in table.stdout.splitlines() if "first-touch" in row]
    # running, warning, breached, met, met late, cancelled, paused, on time
    cells = line.split()[1:]
    assert cells == ["0", "0", "1", "1", "0", "0", "0", "50%"]
    lines = slaguard(tmp_path, "status", "--format", "json").stdout.splitlines()
    instances = [json.loads(line) for line in lines]
    assert instances[0] == {
        "rule_id": "first-touch",
        "kind": "response",
        "portal_id": 4242,
        "object_type": "contact",
        "object_id": "1",
        "owner_id": "7",
        "state": "met",
        "paused": False,
        "cycle": 1,
        "started_at": "2020-01-06T15:00:00+00:00",
        "due_at": "2020-01-06T19:00:00+00:00",
        "stopped_at": "2020-01-06T16:00:00+00:00",
        "breached_at": None,
    }
    assert (instances[1]["state"], instances[1]["breached_at"]) == (
        "breached",
        "2020-01-06T19:00:00+00:00",
    )


def test_evaluate_without_a_rules_file_says_so(tmp_path: Path) -> None:
    result = slaguard(tmp_path, "evaluate")
    assert result.returncode == 1
    assert "SLAGUARD_RULES points at" in result.stderr
