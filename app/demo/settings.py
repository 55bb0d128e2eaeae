"""The demo's Settings: everything comes from the arguments, nothing from the environment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy.engine import make_url

from app.config import Settings
from app.errors import ConfigError

DEMO_DATABASE_FILE = "slaguard-demo.db"
# Engagements (calls, emails) have no HubSpot webhooks; they arrive by the scheduled sync,
# so the demo runs it as often as slaguard allows.
DEMO_SYNC_INTERVAL_MINUTES = 1
# The settings a user can set on the command line, for error messages.
FLAG_OF_FIELD = {"database_url": "--database-url", "slaguard_rules": "--rules"}


class DemoSettings(Settings):
    """Settings that read only what they are given: a HUBSPOT_ACCESS_TOKEN, DATABASE_URL or
    SLAGUARD_PUBLIC_URL in the user's shell or `.env` must not reach the demo."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True)
class SandboxCredentials:
    hubspot_url: str
    hubspot_token: str
    client_secret: str
    slack_url: str
    slack_token: str


def demo_database_url(explicit: str | None, workdir: Path) -> tuple[str, bool]:
    """The store's URL and whether it is the demo's own file (which the demo may replace)."""
    if explicit:
        return explicit, False
    return f"sqlite:///{workdir / DEMO_DATABASE_FILE}", True


def remove_demo_database(database_url: str) -> None:
    """A fresh demo store: the previous demo's file and its WAL side files go."""
    database = make_url(database_url).database
    if not database:
        return
    path = Path(database)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)


def demo_settings(
    *,
    database_url: str,
    rules: Path,
    sandbox: SandboxCredentials,
    admin_token: str,
    log_level: str = "INFO",
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "hubspot_base_url": sandbox.hubspot_url,
        "hubspot_access_token": SecretStr(sandbox.hubspot_token),
        "hubspot_client_secret": SecretStr(sandbox.client_secret),
        "slack_api_url": sandbox.slack_url,
        "slack_bot_token": SecretStr(sandbox.slack_token),
        "slaguard_rules": rules,
        "slaguard_admin_token": SecretStr(admin_token),
        "slaguard_sync_interval_minutes": DEMO_SYNC_INTERVAL_MINUTES,
        "slaguard_log_level": log_level,
    }
    try:
        return DemoSettings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str((first.get("loc") or ("settings",))[0])
        message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
        raise ConfigError(f"{FLAG_OF_FIELD.get(field, field)} {message}.") from None
