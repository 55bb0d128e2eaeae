"""Every `/admin/api/*` router but the silences', as one router for app.main to include."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import admin_alerts, admin_audit, admin_runs, admin_sla

router = APIRouter()
router.include_router(admin_sla.router)
router.include_router(admin_alerts.router)
router.include_router(admin_audit.router)
router.include_router(admin_runs.router)
