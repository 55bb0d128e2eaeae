"""The mutation score per module of the last `mutmut run` (`make mutate` prints it).

Score = mutants killed (a test failed, or the mutant ran past the timeout) out of the mutants
that were run, where a mutant no test reaches counts as surviving. With --survivors, the
names of the mutants still alive follow (`mutmut show NAME` prints one's diff).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked", "check was interrupted by user"}
# `app.sla.calendar.xǁBusinessCalendarǁ_add__mutmut_3` -> `app.sla.calendar`
_MODULE = re.compile(r"^(?P<module>[\w.]+?)\.x(?:_|ǁ)")


def read_results(mutmut: str) -> list[tuple[str, str]]:
    # The virtualenv's own mutmut with fixed arguments: nothing untrusted reaches the call.
    listing = subprocess.run(  # noqa: S603
        [mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    results = []
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            results.append((name, status))
    return results


def table(results: list[tuple[str, str]]) -> tuple[str, list[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors = []
    for name, status in results:
        match = _MODULE.match(name)
        module = match.group("module") if match else name
        counts[module][status] += 1
        if status not in KILLED | NOT_RUN:
            survivors.append(f"{name}: {status}")
    rows = [
        "| module | mutants run | killed | survived | no tests | score |",
        "|---|---|---|---|---|---|",
    ]
    total_run = total_killed = 0
    for module in sorted(counts):
        count = counts[module]
        run = sum(n for status, n in count.items() if status not in NOT_RUN)
        if not run:
            continue  # not part of this run (`mutmut run NAMES` picks mutants by name)
        killed = sum(count[status] for status in KILLED)
        total_run, total_killed = total_run + run, total_killed + killed
        rows.append(
            f"| {module} | {run} | {killed} | {count['survived']} | {count['no tests']} "
            f"| {_percent(killed, run)} |"
        )
    rows.append(
        f"| **all** | {total_run} | {total_killed} | | | {_percent(total_killed, total_run)} |"
    )
    return "\n".join(rows), survivors


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def main() -> None:
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    text, survivors = table(read_results(mutmut))
    print(text)
    if "--survivors" in sys.argv:
        print("\nstill alive:")
        print("\n".join(survivors) or "(none)")


if __name__ == "__main__":
    main()
