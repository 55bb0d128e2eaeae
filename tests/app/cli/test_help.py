"""`slaguard serve --help` promises only what the service does today."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import cli


def test_serve_help_names_what_the_service_runs_and_nothing_it_does_not() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split()).lower()
    for present in ("hubspot webhooks", "/admin/health", "/metrics", "sync", "sla"):
        assert present in text
    for absent in ("dashboard", "slack"):  # not built yet
        assert absent not in text
