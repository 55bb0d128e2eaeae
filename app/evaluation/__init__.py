"""Running the SLA engine on the store: load in bulk, evaluate in pure Python, write in bulk.

The entry points other parts call: `evaluate_records` (the sync's and the webhook worker's
hook after applying changes), `evaluate_all` (`slaguard evaluate`), `process_due` (every
second, from the scheduler).
"""

from app.evaluation.due import process_due
from app.evaluation.service import EvaluationReport, evaluate_all, evaluate_records

__all__ = ["EvaluationReport", "evaluate_all", "evaluate_records", "process_due"]
