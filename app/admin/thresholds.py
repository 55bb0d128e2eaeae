"""When `/admin/health` says `degraded`. Documented in docs/operating.md ("Operating it").

Each one is a symptom a user would feel: stale SLA data, alerts that come late, changes from
HubSpot that never reach the store.
"""

from __future__ import annotations

from datetime import timedelta

# The last successful sync is older than this many sync intervals (SLAGUARD_SYNC_INTERVAL_MINUTES):
# two scheduled runs in a row were missed or failed.
SYNC_STALE_INTERVALS = 3
# A webhook event has waited this long for the worker, which runs every second.
WEBHOOK_BACKLOG_MAX_AGE = timedelta(minutes=5)
# A raw webhook event that did not parse arrived this recently: someone should look.
DEAD_LETTER_RECENT = timedelta(hours=24)
# An event of a portal this slaguard does not serve arrived this recently (HubSpot app
# installed in another portal, or a wrong HUBSPOT_PORTAL_IDS): its changes are not stored.
UNSERVED_PORTAL_RECENT = timedelta(hours=1)
# An SLA instance is this far past its due time and not yet advanced: breach alerts are late.
SLA_DUE_LAG_MAX = timedelta(seconds=60)
# A record has waited this long for its SLA re-evaluation (its hand-off runs right after the
# change, the retry job every few seconds): its clocks are stale.
SLA_REEVALUATION_MAX_AGE = timedelta(minutes=5)
# A due alert delivery has waited this long for a worker: the alerts-deliver job is behind.
ALERT_DELIVERY_LAG_MAX = timedelta(minutes=2)
# A scheduled job failed this many times in a row (one failure of a 1-second job is noise).
JOB_FAILURE_STREAK = 3


def as_dict(sync_interval: timedelta) -> dict[str, float]:
    """The thresholds in seconds, shown in the health body so a reader knows the rules."""
    return {
        "sync_stale_after_seconds": (sync_interval * SYNC_STALE_INTERVALS).total_seconds(),
        "webhook_backlog_max_age_seconds": WEBHOOK_BACKLOG_MAX_AGE.total_seconds(),
        "dead_letter_recent_seconds": DEAD_LETTER_RECENT.total_seconds(),
        "unserved_portal_recent_seconds": UNSERVED_PORTAL_RECENT.total_seconds(),
        "sla_due_lag_max_seconds": SLA_DUE_LAG_MAX.total_seconds(),
        "sla_reevaluation_max_age_seconds": SLA_REEVALUATION_MAX_AGE.total_seconds(),
        "job_failure_streak": JOB_FAILURE_STREAK,
        "alert_delivery_lag_max_seconds": ALERT_DELIVERY_LAG_MAX.total_seconds(),
    }
