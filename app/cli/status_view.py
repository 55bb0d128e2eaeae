"""What `slaguard status` (and the demo's summary) prints: rules with their counts.

A table when the terminal (80 columns when piped) has room for every count; rule names wrap
inside their column, counts never do. Below that width, each rule gets its counts as a list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from app.evaluation.reports import rule_compliance
from app.evaluation.rules_store import rules_in_force
from app.sla.states import SlaState

STATES = (
    SlaState.RUNNING,
    SlaState.WARNING,
    SlaState.BREACHED,
    SlaState.MET,
    SlaState.MET_LATE,
    SlaState.CANCELLED,
)
LABELS = ("running", "warning", "breached", "met", "met late", "cancelled", "paused", "on time")
# Quota and rate periods share the columns: on_track ~ running, at_risk ~ warning,
# missed ~ breached.
PERIOD_STATES = {
    SlaState.RUNNING: SlaState.ON_TRACK,
    SlaState.WARNING: SlaState.AT_RISK,
    SlaState.BREACHED: SlaState.MISSED,
}
NOTE = "quota and rate periods: running = on track, warning = at risk, breached = missed"
# Narrower than this, a rule name would be cut into pieces too short to read.
MIN_RULE_WIDTH = 12
GAP = 2  # between columns: one separator and one collapsed padding


@dataclass(frozen=True, slots=True)
class StatusRow:
    rule_id: str
    kind: str
    cells: tuple[str, ...]  # in LABELS order


def status_rows(session: Session) -> tuple[list[StatusRow], bool]:
    """Each rule in force (and each rule with stored instances) with its counts; and whether
    a rule set is in force at all."""
    rules = rules_in_force(session)
    stats = {row.rule_id: row for row in rule_compliance(session, None)}
    known: dict[str, str] = {rule.id: rule.kind for rule in rules.active_rules} if rules else {}
    for rule_id, stat in stats.items():
        known.setdefault(rule_id, stat.kind)
    rows = []
    for rule_id, kind in known.items():
        row = stats.get(rule_id)
        counts = row.counts if row else {}
        periodic = kind in ("quota", "rate")
        cells = [
            str(counts.get(PERIOD_STATES.get(state, state) if periodic else state, 0))
            for state in STATES
        ]
        on_time = f"{row.compliance:.0%}" if row and row.compliance is not None else "-"
        rows.append(StatusRow(rule_id, kind, (*cells, str(row.paused if row else 0), on_time)))
    return rows, rules is not None


def print_status(session: Session, out: Console) -> None:
    rows, in_force = status_rows(session)
    title = "SLA rules" if in_force else "SLA rules (no rules file in force yet)"
    table = status_table(rows, title, out.width)
    if table is not None:
        out.print(table)
        return
    out.print(title, highlight=False)
    for row in rows:
        out.print(_rule_lines(row, out.width), highlight=False)
    out.print(NOTE, highlight=False)


def _count_widths(rows: list[StatusRow]) -> list[int]:
    """Each count column as wide as its widest value or header word (headers wrap at spaces)."""
    return [
        max([*(len(word) for word in label.split()), *(len(row.cells[i]) for row in rows)])
        for i, label in enumerate(LABELS)
    ]


def status_table(rows: list[StatusRow], title: str, width: int) -> Table | None:
    """The table in `width` columns, or None when the counts leave no room for rule names."""
    counts = _count_widths(rows)
    room = width - sum(counts) - GAP * len(counts)
    if room < MIN_RULE_WIDTH:
        return None
    longest = max((len(text) for row in rows for text in (row.rule_id, row.kind)), default=4)
    table = Table(
        title=title,
        caption=NOTE,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("rule", overflow="fold", width=min(room, max(longest, 4)))
    for label, count_width in zip(LABELS, counts, strict=True):
        header = label.replace(" ", "\n")
        table.add_column(header, justify="right", no_wrap=True, min_width=count_width)
    for row in rows:
        name = Text(row.rule_id) + Text(f"\n{row.kind}", style="dim")
        table.add_row(name, *row.cells)
    return table


def _rule_lines(row: StatusRow, width: int) -> Text:
    """The rule, its kind, then `label count` pairs packed into lines that fit `width`."""
    text = Text(row.rule_id, overflow="fold")
    text.append(f"\n  {row.kind}", style="dim")
    line = ""
    for label, value in zip(LABELS, row.cells, strict=True):
        pair = f"{label} {value}"
        if line and len(line) + 2 + len(pair) > width:
            text.append(f"\n{line}")
            line = ""
        line = f"{line}  {pair}" if line else f"  {pair}"
    text.append(f"\n{line}")
    return text
