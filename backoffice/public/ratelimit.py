"""Rate limits of the public pages: fixed-window counters in the shared cache (Redis in
production), through django-ratelimit.

They only ever slow a client down: nothing here locks an account, so the legitimate holder
can always log in and use a link already sent.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited


def keyed_digest(value: str, *, length: int = 32) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY): groups equal values, reveals none."""
    mac = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256)
    return mac.hexdigest()[:length]


def client_ip(request: HttpRequest) -> str:
    # Behind the production reverse proxy REMOTE_ADDR must be set to the client's address
    # by the proxy (never trust a header the client can forge).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_exceeded(
    request: HttpRequest, *, scope: str, key: str, limit: int, window_seconds: int
) -> bool:
    """Count one hit for ``key`` in ``scope``; True when the window's count is over
    ``limit``. django-ratelimit's fixed windows in the shared cache; the key is stored as a
    keyed hash (an identifiant or an IP address never appears in the cache)."""
    return is_ratelimited(
        request,
        group=f"rl:{scope}",
        key=lambda _group, _request: keyed_digest(key),
        rate=f"{limit}/{window_seconds}s",
        method=ALL,
        increment=True,
    )
