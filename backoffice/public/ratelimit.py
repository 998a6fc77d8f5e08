"""Rate limits of the public pages: fixed-window counters in the shared cache (Redis in
production), through django-ratelimit; and the per-identifiant count of failed extranet
logins, which asks for the security code past a threshold.

They only ever slow a client down: nothing here locks an account, so the legitimate holder
can always log in and use a link already sent.

When the cache is down (``worker.cache.CacheUnavailable``; README.md, "When the cache is
down"):

* the per-IP limits count in this process's memory instead (same limit, same window):
  the public forms stay open, and one address still cannot go past the limit on one web
  process (at most limit × processes in all, for the length of the outage);
* the per-identifiant login check fails closed without locking anyone out: every login
  asks for the security code (stored in the database, so it works without the cache)
  until the cache is back.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited

from worker.cache import CacheUnavailable

# Counters of this process while the shared cache is down.
_fallback = LocMemCache("apsupport-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100000}})


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
    digest = keyed_digest(key)
    try:
        return is_ratelimited(
            request,
            group=f"rl:{scope}",
            key=lambda _group, _request: digest,
            rate=f"{limit}/{window_seconds}s",
            method=ALL,
            increment=True,
        )
    except CacheUnavailable:
        return _count_in_memory(f"rl:{scope}:{digest}", window_seconds) > limit


def _count_in_memory(key: str, window_seconds: int) -> int:
    window = int(time.time()) // window_seconds
    cache_key = f"{key}:{window}"
    if _fallback.add(cache_key, 1, window_seconds + 5):
        return 1
    try:
        return _fallback.incr(cache_key)
    except ValueError:  # expired between the two calls
        _fallback.add(cache_key, 1, window_seconds + 5)
        return 1


# --- Failed extranet logins per identifiant (from every address) -------------------------


def _login_failures_key(identifiant: str) -> str:
    return f"login-failures:{keyed_digest(identifiant.strip().upper())}"


def login_security_code_required(identifiant: str) -> bool:
    """True when the next login with ``identifiant`` must carry the security code: it had
    ``EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE`` failures (from any address) within
    the window, or the cache cannot tell (fail closed, nobody locked out)."""
    if not identifiant:
        return False
    try:
        failures = cache.get(_login_failures_key(identifiant))
        if failures is None:
            # A miss or a cache that is down: ``add`` (a counter call) tells them apart.
            cache.add("login-failures:probe", 0, 1)
    except CacheUnavailable:
        return True
    return (failures or 0) >= settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE


def login_failure_record(identifiant: str) -> None:
    """Count one failed login for ``identifiant``, whatever the address (a fixed window
    of ``EXTRANET_LOGIN_FAILURE_WINDOW_MINUTES`` from the first failure)."""
    if not identifiant:
        return
    key = _login_failures_key(identifiant)
    window = settings.EXTRANET_LOGIN_FAILURE_WINDOW_MINUTES * 60
    try:
        if not cache.add(key, 1, window):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.add(key, 1, window)
    except CacheUnavailable:
        pass  # every login asks for the code while the cache is down


def login_failures_clear(identifiant: str) -> None:
    """The holder logged in (with the code when it was asked): start counting again."""
    if identifiant:
        cache.delete(_login_failures_key(identifiant))
