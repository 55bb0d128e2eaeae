"""`slaguard rules check` checks the alerts section too, in the same pass as the rules."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

from typer.testing import CliRunner

from app.cli import cli
from integrations.webhooks.signing import WebhookSecret

EXAMPLE = Path(__file__).resolve().parents[2] / "sla.example.yaml"
ALERTS = dedent(
    """\
    alerts:
      webhooks:
        crm:
          url: https://hooks.example.com/slaguard
          secret_env: SLAGUARD_TEST_WEBHOOK_SECRET
      routes:
        - name: reps
          match: {rules: [mql-first-touch]}
          receivers: [owner, "webhook:crm"]
          fallback: ["#sales-managers"]
    """
)


def check(path: Path, **environ: str) -> tuple[int, str]:
    env = {"COLUMNS": "300", "SLAGUARD_TEST_WEBHOOK_SECRET": "", **environ}
    result = CliRunner().invoke(cli, ["rules", "check", str(path)], env=env)
    return result.exit_code, result.output


def with_alerts(tmp_path: Path, alerts: str, rules_text: str | None = None) -> Path:
    path = tmp_path / "sla.yaml"
    path.write_text((rules_text or EXAMPLE.read_text()) + "\n" + alerts)
    return path


def test_a_rules_file_with_a_valid_alerts_section_passes(tmp_path: Path) -> None:
    path = with_alerts(tmp_path, ALERTS)

    code, output = check(path, SLAGUARD_TEST_WEBHOOK_SECRET=WebhookSecret.generate().text())

    assert code == 0, output
    assert "alerts: 1 routes, 1 webhook endpoints" in output


def test_an_unset_secret_and_a_rules_error_are_reported_together(tmp_path: Path) -> None:
    broken_rules = EXAMPLE.read_text().replace("kind: response", "kind: responze", 1)
    path = with_alerts(tmp_path, ALERTS, broken_rules)
    lines = path.read_text().splitlines()
    secret_line = lines.index("      secret_env: SLAGUARD_TEST_WEBHOOK_SECRET") + 1

    code, output = check(path)

    assert code == 1
    assert "responze" in output
    assert (
        f"{path}, line {secret_line}: alerts.webhooks.crm.secret_env: "
        "SLAGUARD_TEST_WEBHOOK_SECRET is not set in the environment"
    ) in output
    assert "SLAGUARD_TEST_WEBHOOK_SECRET" not in os.environ


def test_a_route_naming_a_rule_that_does_not_exist_fails(tmp_path: Path) -> None:
    path = with_alerts(tmp_path, ALERTS.replace("mql-first-touch", "mql-frist-touch"))

    code, output = check(path, SLAGUARD_TEST_WEBHOOK_SECRET=WebhookSecret.generate().text())

    assert code == 1
    assert "alerts.routes[0].match.rules[0]: names no rule: 'mql-frist-touch'" in output
