"""`slaguard hubspot setup [--dry-run]` against the sandbox: the dry run changes nothing, the run
creates the group and properties once, and switches write-back on again after a missing scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from alerts.outbox import leases
from app.cli import cli
from app.models import AlertEndpoint
from app.store.db import create_db_engine, create_session_factory, session_scope
from sandbox.hubspot.custom_schema import write_state
from sandbox.server import SandboxServer
from tests.fixtures.slaguard_process import sandbox_environ


@pytest.mark.sandbox(contacts=20)
def test_setup_dry_run_then_real_run_then_nothing_left_to_do(
    sandbox: SandboxServer, sqlite_url: str
) -> None:
    env = sandbox_environ(sqlite_url, sandbox)
    runner = CliRunner()
    state = write_state(sandbox.emulator)

    dry = runner.invoke(cli, ["hubspot", "setup", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would create property contacts.slaguard_sla_state" in dry.output
    assert state.custom_properties("contacts") == [] and state.list_groups("deals") == []

    engine = create_db_engine(sqlite_url)
    factory = create_session_factory(engine)
    with session_scope(factory) as session:
        leases.disable_endpoint(session, "hubspot_task", "missing scope", datetime.now(UTC))
    done = runner.invoke(cli, ["hubspot", "setup"], env=env)
    assert done.exit_code == 0, done.output
    names = {p.name for p in state.custom_properties("deals")}
    assert names == {
        "slaguard_sla_state",
        "slaguard_first_touch_due",
        "slaguard_first_touch_minutes",
    }
    with factory() as session:
        row = session.scalars(select(AlertEndpoint)).one()
        assert row.disabled_at is None
    engine.dispose()

    again = runner.invoke(cli, ["hubspot", "setup"], env=env)
    assert "nothing to do" in again.output


@pytest.mark.sandbox(contacts=20)
def test_setup_without_the_schema_scope_says_which_scope(
    sandbox: SandboxServer, sqlite_url: str
) -> None:
    write_state(sandbox.emulator).scopes.discard("crm.schemas.contacts.write")
    result = CliRunner().invoke(cli, ["hubspot", "setup"], env=sandbox_environ(sqlite_url, sandbox))
    assert result.exit_code == 1
    assert "crm.schemas.contacts.write" in result.output
    assert sandbox.token not in result.output
