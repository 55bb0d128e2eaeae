"""The SLA engine's periodic jobs: the due-clock tick, rules activation, the safety sweep and
the re-evaluation of records a hand-off left queued."""

from __future__ import annotations

from datetime import UTC, datetime

from app.config import Settings
from app.evaluation import handoff
from app.evaluation.due import process_due
from app.evaluation.rules_file import read_rules_file, reporter
from app.evaluation.rules_store import activate_text, in_force_since
from app.evaluation.service import evaluate_all
from app.scheduler import JobContext, JobSpec
from app.store.db import session_scope
from app.webhooks.ingest import write_lock

DUE_SECONDS = 1.0
RULES_SECONDS = 30.0
SWEEP_SECONDS = 3600.0
REEVALUATE_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


def run_due_clocks(context: JobContext) -> None:
    """Breaches, warnings, period ends and pacing crossings that came due."""
    with session_scope(context.session_factory) as session:
        processed = process_due(session, _now())
    if processed:
        context.log.debug("advanced %d due SLA instances", processed)


def refresh_rules(context: JobContext) -> None:
    """Put the rules file in force when it changed, and re-evaluate everything under it. A
    broken or missing file leaves the stored rules in force and is said once (rules_file)."""
    path = context.settings.slaguard_rules
    state = read_rules_file(path)
    with session_scope(context.session_factory) as session:
        changed = False
        if state.rules is not None and state.text is not None:
            _, changed = activate_text(session, path, state.text, state.rules, _now())
        since = in_force_since(session)
        recovered = reporter.report(state, since, activated=changed)
        if changed:
            report = evaluate_all(session, now=_now(), after_batch=session.commit)
            context.log.info(
                "rules file %s %s: its rules are in force; %d records evaluated, %d events",
                path,
                "is valid again" if recovered else "changed",
                report.records,
                report.events,
            )


def sweep(context: JobContext) -> None:
    """A full evaluation now and then, in case a change reached the store without the hook.
    It covers every record queued when it began: their rows go."""
    with session_scope(context.session_factory) as session:
        queued = handoff.covered(session)
        session.commit()
        evaluate_all(session, now=_now(), after_batch=session.commit)
        handoff.clear_covered(session, queued)


def reevaluate_queued(context: JobContext) -> None:
    """Records whose hand-off failed, or never ran (the process died after the change was
    committed): evaluated until the queue is empty. A failure raises, so the scheduler counts
    it and health shows a job that keeps failing."""
    factory = context.session_factory
    result = handoff.drain(factory, _now(), lock=write_lock(factory))
    if result.evaluated:
        context.log.info("re-evaluated %d queued record(s)", result.evaluated)
    if result.failed:
        raise RuntimeError(
            f"{result.failed} queued record(s) could not be evaluated; they stay queued: "
            f"{result.errors[-1]}"
        )


def sla_jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec("sla-due-clocks", run_due_clocks, DUE_SECONDS, "SLA warnings and breaches on time"),
        JobSpec("sla-rules", refresh_rules, RULES_SECONDS, "apply a changed rules file"),
        JobSpec("sla-sweep", sweep, SWEEP_SECONDS, "full SLA re-evaluation"),
        JobSpec(
            "sla-reevaluate",
            reevaluate_queued,
            REEVALUATE_SECONDS,
            "evaluate records a hand-off left queued",
        ),
    ]
