"""The `scorecard:` and `digest:` settings of the alerts section: typed when right, every
mistake with its file, line and field when not (as `slaguard rules check` shows them)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from alerts.config import check_alerts
from alerts.digest import DigestSettings
from alerts.scorecard import ScorecardSchedule
from app.cli import cli
from app.sla.loader import RulesFileError

GOOD = dedent(
    """\
    alerts:
      scorecard:
        channel: "#revops"
        weekday: Monday
        time: "09:00"
        timezone: Europe/Berlin
      digest:
        rules: [first-touch]
    """
)


def problems(text: str) -> list[str]:
    with pytest.raises(RulesFileError) as raised:
        check_alerts(text, "sla.yaml", environ={}, rule_ids={"first-touch"})
    return [str(problem) for problem in raised.value.problems]


def test_a_valid_scorecard_and_digest_become_typed_settings() -> None:
    config = check_alerts(GOOD, "sla.yaml", environ={}, rule_ids={"first-touch"})

    assert config is not None
    assert config.scorecard == ScorecardSchedule("revops", 0, time(9, 0), "Europe/Berlin")
    assert config.digest == DigestSettings(frozenset({"first-touch"}))


def test_an_empty_digest_covers_every_rule_and_a_channel_may_be_an_id() -> None:
    text = GOOD.replace('"#revops"', "channel:C0REVOPS").replace("rules: [first-touch]", "{}")
    text = text.replace("  digest:\n    {}", "  digest: {}")

    config = check_alerts(text, "sla.yaml", environ={}, rule_ids={"first-touch"})

    assert config is not None and config.scorecard is not None
    assert config.scorecard.channel == "C0REVOPS"
    assert config.digest == DigestSettings()


def test_every_mistake_in_the_schedule_is_reported_with_its_line() -> None:
    text = dedent(
        """\
        alerts:
          scorecard:
            channel: owner
            weekday: someday
            time: 10:30
            timezone: Mars/Olympus
          digest:
            rules: [frist-touch]
        """
    )

    found = problems(text)

    assert found == [
        "sla.yaml, line 3: alerts.scorecard.channel: "
        "expected a channel such as #revops or channel:C0123, got owner",
        "sla.yaml, line 4: alerts.scorecard.weekday: "
        "expected a weekday such as monday or mon, got 'someday'",
        'sla.yaml, line 5: alerts.scorecard.time: write the time in quotes, e.g. "10:30"',
        "sla.yaml, line 6: alerts.scorecard.timezone: "
        "expected an IANA time zone such as Europe/Berlin, got 'Mars/Olympus'",
    ]


def test_a_digest_naming_an_unknown_rule_fails_once_the_shape_is_right() -> None:
    text = GOOD.replace("rules: [first-touch]", "rules: [first-touch, frist-touch]")

    assert problems(text) == [
        "sla.yaml, line 8: alerts.digest.rules[1]: names no rule: 'frist-touch'"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"25:00"', "expected a local time of day as \"HH:MM\", got '25:00'"),
        ('"9am"', "expected a local time of day as \"HH:MM\", got '9am'"),
        ("", "is required but missing"),
    ],
)
def test_a_time_that_is_not_a_time_of_day_is_refused(written: str, message: str) -> None:
    line = f"    time: {written}\n" if written else ""
    text = GOOD.replace('    time: "09:00"\n', line)

    (problem,) = problems(text)

    assert problem.endswith(message)


def test_rules_check_says_when_the_scorecard_and_digests_go_out(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "sla.example.yaml"
    path = tmp_path / "sla.yaml"
    path.write_text(example.read_text() + "\n" + GOOD.replace("first-touch", "mql-first-touch"))

    result = CliRunner().invoke(cli, ["rules", "check", str(path)], env={"COLUMNS": "300"})

    assert result.exit_code == 0, result.output
    assert "scorecard: to #revops on Monday at 09:00 Europe/Berlin" in result.output
    assert "morning digest: to each rep at the start of their day (mql-first-touch)" in (
        result.output
    )


def test_rules_check_names_the_file_and_line_of_a_bad_scorecard(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "sla.example.yaml"
    path = tmp_path / "sla.yaml"
    path.write_text(example.read_text() + "\n" + GOOD.replace("Monday", "Moonday"))
    line = path.read_text().splitlines().index("    weekday: Moonday") + 1

    result = CliRunner().invoke(cli, ["rules", "check", str(path)], env={"COLUMNS": "300"})

    assert result.exit_code == 1
    assert f"{path}, line {line}: alerts.scorecard.weekday: expected a weekday" in result.output
