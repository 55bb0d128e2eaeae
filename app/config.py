"""One Settings object, read from the environment and `.env`, passed to whoever needs it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./slaguard.db"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# What a process does among replicas; app/roles.py says what each one runs.
ROLES = ("all", "api", "worker", "scheduler")
_WEAK_TOKENS = {"changeme", "change-me", "secret", "admin", "password", "token", "test"}


class Settings(BaseSettings):
    """Every knob of slaguard. Field names are the environment variables, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = DEFAULT_DATABASE_URL

    hubspot_access_token: SecretStr | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    hubspot_client_secret: SecretStr | None = None
    # Pacing for a Professional/Enterprise private app; lower them for Free/Starter portals.
    hubspot_requests_per_10s: Annotated[int, Field(ge=1, le=10_000)] = 190
    hubspot_search_per_second: Annotated[int, Field(ge=1, le=100)] = 5
    hubspot_extra_properties: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Webhook events of other portals are refused; empty: the portal of the access token.
    hubspot_portal_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_signing_secret: SecretStr | None = None

    slaguard_rules: Path = Path("sla.yaml")
    slaguard_admin_token: SecretStr | None = None
    slaguard_public_url: str | None = None
    slaguard_sync_interval_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 5
    slaguard_log_level: str = "INFO"
    slaguard_metrics_public: bool = True  # False: /metrics wants the admin token too
    # True: anyone who reaches the dashboard may read it, and nobody acts through it.
    slaguard_dashboard_readonly: bool = False
    # What this process does among replicas (app/roles.py): all, api, worker or scheduler.
    slaguard_role: str = "all"
    # How long a delivery worker owns the alerts it claimed: longer than its batch can take
    # (10 deliveries at the webhook timeout), shorter than you accept for a dead worker's
    # alerts to wait before another worker sends them.
    slaguard_outbox_lease_seconds: Annotated[int, Field(ge=5, le=3600)] = 300

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a SQLAlchemy URL (expected e.g. sqlite:///./slaguard.db or "
                "postgresql+psycopg://user@host:5432/db)"
            ) from None
        if url.get_backend_name() not in SUPPORTED_BACKENDS:
            raise ValueError(
                f"uses the unsupported backend {url.get_backend_name()!r} "
                "(slaguard runs on sqlite or postgresql)"
            )
        if url.drivername == "postgresql":
            # postgresql:// alone would make SQLAlchemy look for psycopg2, which we do not ship.
            url = url.set(drivername="postgresql+psycopg")
            return url.render_as_string(hide_password=False)
        return value

    @field_validator("hubspot_base_url", "slack_api_url", "slaguard_public_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("hubspot_extra_properties", mode="before")
    @classmethod
    def _split_properties(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("hubspot_portal_ids", mode="before")
    @classmethod
    def _split_portal_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return [int(p) for p in value.replace(" ", "").split(",") if p]
        except ValueError:
            raise ValueError(
                f"must be HubSpot portal ids separated by commas (e.g. 62515,7713), got {value!r}"
            ) from None

    @field_validator("slaguard_admin_token")
    @classmethod
    def _refuse_weak_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if len(token) < 16 or token.lower() in _WEAK_TOKENS:
            raise ValueError("must be at least 16 characters and not a well-known placeholder")
        return value

    @field_validator("slaguard_log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("slaguard_role")
    @classmethod
    def _check_role(cls, value: str) -> str:
        role = value.strip().lower()
        if role not in ROLES:
            raise ValueError(f"must be one of {', '.join(ROLES)} (got {value!r})")
        return role

    @model_validator(mode="after")
    def _check_role_fits_store(self) -> Settings:
        if self.slaguard_role != "all" and self.is_sqlite:
            raise ValueError(
                f"SLAGUARD_ROLE={self.slaguard_role} needs PostgreSQL: on SQLite slaguard runs "
                "as one process with every role (use SLAGUARD_ROLE=all, the default, or a "
                "postgresql+psycopg:// DATABASE_URL)"
            )
        return self

    @model_validator(mode="after")
    def _check_rules_readable(self) -> Settings:
        # The default path may be absent (no rules yet); a path someone chose must be readable.
        if "slaguard_rules" in self.model_fields_set:
            path = self.slaguard_rules
            if not path.is_file() or not os.access(path, os.R_OK):
                raise ValueError(f"SLAGUARD_RULES points at {path}, which is not a readable file")
        return self

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def safe_database_url(self) -> str:
        """The URL with its password masked, for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one sentence naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ()
        message = str(first.get("msg", "is invalid"))
        message = message.removeprefix("Value error, ")
        if loc:
            variable = str(loc[0]).upper()
            raise ConfigError(f"{variable} {message}.") from None
        raise ConfigError(f"{message}.") from None
