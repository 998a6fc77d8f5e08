"""``/readyz`` and ``/metrics``: for the operator's probes and Prometheus, behind
``backoffice.ops.access`` (the operator's token, or loopback where allowed)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .access import ops_request_allowed
from .metrics import exposition
from .readiness import readiness


def _refused() -> HttpResponse:
    response = JsonResponse(
        {"detail": _("Réservé à l'exploitation : jeton d'accès requis.")}, status=401
    )
    response["WWW-Authenticate"] = 'Bearer realm="exploitation"'
    return response


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when every dependency is up, 503 otherwise; each check with its state, latency
    and what it saw."""
    if not ops_request_allowed(request):
        return _refused()
    results = readiness()
    ok = all(r.ok for r in results)
    return JsonResponse(
        {"status": "ok" if ok else "down", "checks": {r.name: r.as_dict() for r in results}},
        status=200 if ok else 503,
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not ops_request_allowed(request):
        return _refused()
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
