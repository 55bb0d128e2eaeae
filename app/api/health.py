from __future__ import annotations

from fastapi import APIRouter

from app import __version__

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers. Details live behind the admin token at /admin/health."""
    return {"status": "ok", "version": __version__}
