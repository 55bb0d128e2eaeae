"""What every command shares: settings, the store, and failing with one sentence."""

from __future__ import annotations

import errno
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from app.config import Settings, load_settings
from app.logging import configure_logging
from app.store.connect import open_store


class _OutputConsole(Console):
    """Rich ends the process with exit code 1 when stdout's reader is gone; hand the broken
    pipe to the command group instead, which ends quietly with 0 (see app.cli._Commands)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of stdout went away")


console = _OutputConsole()
err_console = Console(stderr=True)


def report_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Inside a command: print one sentence and leave with `code`."""
    report_error(message)
    raise typer.Exit(code)


def settings_from_env(**overrides: Any) -> Settings:
    settings = load_settings(**overrides)
    configure_logging(settings.slaguard_log_level)
    return settings


def store_from_env(settings: Settings | None = None) -> tuple[Settings, Engine]:
    settings = settings or settings_from_env()
    return settings, open_store(settings)
