"""Who may read ``/readyz`` and ``/metrics``: a caller with the operator's token
(``Authorization: Bearer <OPS_TOKEN>``), or, where ``OPS_LOOPBACK_ACCESS`` allows it, a
process on this machine that did not come through a proxy.

Behind a reverse proxy on the same machine every outside request arrives from 127.0.0.1,
so a request that carries a proxy's forwarding header is never taken for a local one, and
production turns loopback access off unless told otherwise.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

LOOPBACK = frozenset({"127.0.0.1", "::1"})
PROXY_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def ops_request_allowed(request: HttpRequest) -> bool:
    token = settings.OPS_TOKEN
    given = _bearer(request)
    if token and given:
        return constant_time_compare(given, token)
    if not settings.OPS_LOOPBACK_ACCESS:
        return False
    local = request.META.get("REMOTE_ADDR") in LOOPBACK
    return local and not any(header in request.META for header in PROXY_HEADERS)
