from __future__ import annotations

from ninja.security import APIKeyHeader

from .services import api_key_authenticate


class ApiKeyAuth(APIKeyHeader):
    """``X-API-Key: <key>``, issued in the admin or by ``manage.py create_api_key``."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        api_key = api_key_authenticate(raw_key=key or "")
        if api_key is None:
            return None
        request.api_key = api_key
        return api_key
