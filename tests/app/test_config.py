from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "SLAGUARD_RULES", "SLAGUARD_ADMIN_TOKEN", "HUBSPOT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_follow_the_design_contract() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./slaguard.db"
    assert settings.hubspot_base_url == "https://api.hubapi.com"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slaguard_rules == Path("sla.yaml")
    assert settings.slaguard_admin_token is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not a url", "DATABASE_URL is not a SQLAlchemy URL"),
        ("mysql://root@localhost/x", "DATABASE_URL uses the unsupported backend 'mysql'"),
    ],
)
def test_bad_database_url_is_one_sentence_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert str(excinfo.value).startswith(fragment)
    assert "\n" not in str(excinfo.value)


def test_plain_postgresql_url_uses_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/slaguard")
    assert load_settings().database_url == "postgresql+psycopg://u:p@db:5432/slaguard"


def test_unreadable_rules_path_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAGUARD_RULES", "/no/such/sla.yaml")
    with pytest.raises(ConfigError, match=r"SLAGUARD_RULES points at /no/such/sla\.yaml"):
        load_settings()


def test_missing_default_rules_file_is_allowed() -> None:
    assert not Path("sla.yaml").exists()
    load_settings()


@pytest.mark.parametrize("token", ["changeme", "short"])
def test_weak_admin_token_is_refused(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("SLAGUARD_ADMIN_TOKEN", token)
    with pytest.raises(ConfigError, match="SLAGUARD_ADMIN_TOKEN must be at least 16"):
        load_settings()


def test_secrets_are_masked_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-very-secret-value")
    monkeypatch.setenv("SLAGUARD_ADMIN_TOKEN", "a-long-admin-token-value")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "a-long-admin" not in repr(settings)
    assert settings.hubspot_access_token is not None
    assert settings.hubspot_access_token.get_secret_value() == "pat-na1-very-secret-value"


def test_bad_base_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_BASE_URL", "api.hubapi.com")
    with pytest.raises(ConfigError, match="HUBSPOT_BASE_URL must start with http"):
        load_settings()


def test_extra_properties_from_the_environment_are_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBSPOT_EXTRA_PROPERTIES", "industry, annualrevenue,,jobtitle")
    assert load_settings().hubspot_extra_properties == ["industry", "annualrevenue", "jobtitle"]
