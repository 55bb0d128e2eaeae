"""`GET /metrics`: Prometheus exposition, read from the store at scrape time.

Public by default, because most scrapers cannot easily send a bearer token and the figures
carry no personal data or secrets (counts, ages, rule ids, job ids). Set
SLAGUARD_METRICS_PUBLIC=false to require the admin token, as for `/admin/*`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client.exposition import choose_encoder

from app.admin.metrics import StoreCollector
from app.api.admin_auth import require_admin
from app.api.deps import SessionFactoryDep, SettingsDep
from app.api.responses import ADMIN_REFUSALS
from app.scheduler import Scheduler

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text, or OpenMetrics when the Accept header asks for it",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            },
        },
        **ADMIN_REFUSALS,  # only when SLAGUARD_METRICS_PUBLIC=false
    },
)
def metrics(
    request: Request, settings: SettingsDep, session_factory: SessionFactoryDep
) -> Response:
    if not settings.slaguard_metrics_public:
        require_admin(request, settings)
    scheduler: Scheduler | None = getattr(request.app.state, "scheduler", None)
    status = scheduler.status() if scheduler is not None else None
    collector = StoreCollector(settings, session_factory, status, datetime.now(UTC))
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(collector), media_type=content_type)
