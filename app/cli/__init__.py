"""The `slaguard` command. Each area registers its commands from its own module."""

from __future__ import annotations

import sys

import typer

from app import __version__
from app.cli import db, demo, serve
from app.cli import evaluate as evaluate_cli
from app.cli import rules as rules_cli
from app.cli import sandbox as sandbox_cli
from app.cli import sync as sync_cli
from app.cli.common import console, report_error
from app.errors import SlaguardError

cli = typer.Typer(
    name="slaguard",
    help="Keeps the marketing-sales SLA honest on HubSpot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.add_typer(db.app, name="db")
serve.register(cli)
rules_cli.register(cli)
evaluate_cli.register(cli)
sandbox_cli.register(cli)
sync_cli.register(cli)
demo.register(cli)


@cli.command()
def version() -> None:
    """Print slaguard's version."""
    console.print(f"slaguard {__version__}", highlight=False)


def main() -> None:
    """Entry point: every SlaguardError ends as one sentence and exit code 1."""
    try:
        cli()
    except SlaguardError as exc:
        report_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        report_error("interrupted")
        sys.exit(130)
