from __future__ import annotations

from ninja.security import APIKeyHeader, HttpBearer
from ninja.security.session import SessionAuth

from .services import api_key_authenticate, personal_token_authenticate


class ApiKeyAuth(APIKeyHeader):
    """``X-API-Key: <key>``, issued in the admin or by ``manage.py create_api_key``."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        api_key = api_key_authenticate(raw_key=key or "")
        if api_key is None:
            return None
        request.api_key = api_key
        return api_key


class AgentSessionAuth(SessionAuth):
    """The back-office session, CSRF-checked, and only once the second factor is verified:
    a password-only session gets nothing from the agent API."""

    def __init__(self):
        super().__init__(csrf=True)

    def authenticate(self, request, key):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_verified():
            return user
        return None


class PersonalTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: a personal token created in the back-office."""

    openapi_scheme = "bearer"

    def authenticate(self, request, token):
        user = personal_token_authenticate(raw_token=token or "")
        if user is None:
            return None
        request.user = user
        return user


def axes_username(request, credentials=None) -> str | None:
    """The login e-mail, lower-cased, however the login form named it, so that ``Agent@X``
    and ``agent@x`` count as the same target for the lockout."""
    value = None
    if credentials:
        value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None:
        data = getattr(request, "POST", {}) or {}
        value = data.get("email") or data.get("username")
    return value.strip().lower() if isinstance(value, str) else value
