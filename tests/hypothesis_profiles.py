"""Hypothesis profiles, chosen by HYPOTHESIS_PROFILE (default: ci).

- ci: derandomized, so a run on the same code draws the same examples and CI cannot turn red
  by chance; a deadline per example, so an input that makes the code crawl fails fast as a
  DeadlineExceeded with the input shown instead of running into the suite's timeout.
- random: fresh random examples on every run and more of them, to keep exploring beyond the
  fixed CI sample (`make test-random`). A failure prints the seed and a reproduction blob.
- mutate: derandomized with fewer examples, for `make mutate`, which runs the covering tests
  once per mutant (a surviving mutant costs a whole run of them).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# Far above what one example takes on a busy CI machine, far below a hang.
EXAMPLE_DEADLINE = timedelta(seconds=5)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=EXAMPLE_DEADLINE,
    max_examples=200,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "random",
    parent=settings.get_profile("ci"),
    derandomize=False,
    max_examples=1_000,
)
settings.register_profile(
    "mutate",
    parent=settings.get_profile("ci"),
    max_examples=50,
    print_blob=False,
)


def load() -> str:
    """Load the profile named by HYPOTHESIS_PROFILE and return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    settings.load_profile(name)
    return name
