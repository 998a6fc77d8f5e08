"""Fixed-window counters in the shared cache (Redis in production).

They only ever slow a client down: nothing here locks an account, so the legitimate holder
can always log in and use a link already sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache


def keyed_digest(value: str, *, length: int = 32) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY): groups equal values, reveals none."""
    mac = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256)
    return mac.hexdigest()[:length]


def client_ip(request) -> str:
    # Behind the production reverse proxy REMOTE_ADDR must be set to the client's address
    # by the proxy (never trust a header the client can forge).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_exceeded(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for ``key`` in ``scope``; True when the window's count is over
    ``limit``."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"rl:{scope}:{keyed_digest(key)}:{bucket}"
    cache.add(cache_key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 5)
        count = 1
    return count > limit
