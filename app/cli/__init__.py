"""The `slaguard` command. Each area registers its commands from its own module."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from app import __version__
from app.cli import alerts as alerts_cli
from app.cli import db, demo, serve
from app.cli import evaluate as evaluate_cli
from app.cli import hubspot as hubspot_cli
from app.cli import rules as rules_cli
from app.cli import sandbox as sandbox_cli
from app.cli import sync as sync_cli
from app.cli.common import console, report_error
from app.reported_errors import REPORTED_ERRORS


def _stop_writing_stdout() -> None:
    """The reader of our output went away (`slaguard status | head`): whatever is left to print
    has nowhere to go. Pointing stdout at /dev/null keeps Python's own flush at exit from
    failing again with a message of its own."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class _Commands(TyperGroup):
    """Every command: a closed pipe on stdout ends the output quietly with exit code 0, as
    `head` and `grep -q` expect (Click would exit 1, which breaks scripts under pipefail)."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context is private
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stop_writing_stdout()
            raise typer.Exit(0) from None


cli = typer.Typer(
    name="slaguard",
    cls=_Commands,
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
alerts_cli.register(cli)
hubspot_cli.register(cli)


@cli.command()
def version() -> None:
    """Print slaguard's version."""
    console.print(f"slaguard {__version__}", highlight=False)


def _flush_stdout() -> None:
    # Output small enough to sit in the buffer meets the closed pipe only here.
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stop_writing_stdout()


def main() -> None:
    """Entry point: every error meant for a person ends as one sentence and exit code 1."""
    try:
        cli()
    except REPORTED_ERRORS as exc:
        report_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        report_error("interrupted")
        sys.exit(130)
    finally:
        _flush_stdout()
