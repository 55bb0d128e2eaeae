"""The dashboard's sign-in session: a signed cookie carrying a random session id and the
CSRF token bound to it.

The signing key is derived from SLAGUARD_ADMIN_TOKEN (which Settings already refuses when weak),
so there is no second secret to forget, and changing the token signs everyone out. The cookie
holds no secret of its own: only random ids that mean something with this key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import SecretStr

COOKIE_NAME = "slaguard_session"
# A working day and a bit: long enough not to sign a manager out mid-review, short enough
# that a cookie left on a shared machine goes stale by the next morning.
MAX_AGE_SECONDS = 12 * 3600
_KEY_PURPOSE = b"slaguard dashboard session v1"


@dataclass(frozen=True, slots=True)
class DashboardSession:
    session_id: str
    csrf_token: str


def _serializer(admin_token: SecretStr) -> URLSafeTimedSerializer:
    key = hmac.new(admin_token.get_secret_value().encode(), _KEY_PURPOSE, hashlib.sha256)
    return URLSafeTimedSerializer(key.hexdigest(), salt="slaguard-dashboard")


def new_session() -> DashboardSession:
    return DashboardSession(secrets.token_urlsafe(18), secrets.token_urlsafe(24))


def encode(session: DashboardSession, admin_token: SecretStr) -> str:
    return _serializer(admin_token).dumps({"sid": session.session_id, "csrf": session.csrf_token})


def decode(cookie: str | None, admin_token: SecretStr | None) -> DashboardSession | None:
    """The session in a cookie, or None when it is absent, forged, expired or malformed."""
    if not cookie or admin_token is None:
        return None
    try:
        data = _serializer(admin_token).loads(cookie, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    sid, csrf = data.get("sid"), data.get("csrf")
    if not isinstance(sid, str) or not isinstance(csrf, str):
        return None
    return DashboardSession(sid, csrf)


def token_matches(presented: str, admin_token: SecretStr | None) -> bool:
    """Constant-time, over bytes, as the admin API compares it."""
    if admin_token is None:
        return False
    return hmac.compare_digest(presented.encode(), admin_token.get_secret_value().encode())


def csrf_matches(presented: str | None, session: DashboardSession) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), session.csrf_token.encode())
