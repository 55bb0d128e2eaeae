"""`AdminDep`: the bearer-token check every `/admin/*` route (and a private `/metrics`) uses.

- No SLAGUARD_ADMIN_TOKEN configured: 403 for everyone, with a JSON reason. An admin API
  that is open because someone forgot a variable is worse than one that is closed.
- A missing, malformed or wrong token: 401 with `WWW-Authenticate: Bearer`.
The comparison is constant-time, over bytes, so neither the length of the matching prefix nor
non-ASCII input tells an attacker anything.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.api.deps import SettingsDep

ADMIN_DISABLED_REASON = "The admin API is disabled: set SLAGUARD_ADMIN_TOKEN to enable it."
UNAUTHORIZED_REASON = (
    "A valid admin token is required (Authorization: Bearer <SLAGUARD_ADMIN_TOKEN>)."
)


def require_admin(request: Request, settings: SettingsDep) -> None:
    configured = settings.slaguard_admin_token
    if configured is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=ADMIN_DISABLED_REASON)
    presented = _bearer_token(request.headers.get("authorization"))
    expected = configured.get_secret_value().encode()
    if presented is None or not hmac.compare_digest(presented.encode(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=UNAUTHORIZED_REASON,
            headers={"WWW-Authenticate": 'Bearer realm="slaguard-admin"'},
        )


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


AdminDep = Annotated[None, Depends(require_admin)]
