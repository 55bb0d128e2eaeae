"""The suite's set-up: the shared fixtures (tests/fixtures/: the migrated store on both
backends, the sandbox), the report header and the Hypothesis profile."""

from __future__ import annotations

import pytest
from hypothesis import is_hypothesis_test

from tests import hypothesis_profiles

HYPOTHESIS_PROFILE = hypothesis_profiles.load()
pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.store"]


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (HYPOTHESIS_PROFILE=random explores)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Hypothesis test carries the `property` marker (`make test-random` selects them)."""
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)
