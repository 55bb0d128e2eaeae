"""`ActorDep`: the admin token checked (AdminDep), then who acted, as the audit log names them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.admin.audit import API_SOURCE, Actor, token_fingerprint
from app.api.admin_auth import require_admin
from app.api.deps import SettingsDep


def admin_actor(request: Request, settings: SettingsDep) -> Actor:
    require_admin(request, settings)
    token = settings.slaguard_admin_token
    assert token is not None  # require_admin refused the request otherwise
    remote = request.client.host if request.client else None
    return Actor(token_fingerprint(token.get_secret_value()), API_SOURCE, remote)


ActorDep = Annotated[Actor, Depends(admin_actor)]
