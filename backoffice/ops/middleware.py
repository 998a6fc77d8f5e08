"""The request context: first in the middleware chain, so that it measures everything.

* The request id: the caller's ``X-Request-ID`` when it looks like one (a proxy's), a new
  one otherwise; answered in ``X-Request-ID``, bound for the log lines of the request, and
  carried into the Celery tasks and outbox rows the request creates (``worker.context``).
* The actor (``user:12``, ``apikey:3``, ``account:45``), worked out when a line is written
  from what the request already loaded: never a query of its own.
* The latency histogram (``backoffice.ops.metrics``) and one log line per request: method,
  view (URL name), route pattern, status, duration; INFO, WARNING for a 4xx, ERROR for a
  5xx. Never the path itself: some paths carry a secret link's token. So this line replaces
  the one ``django.request`` writes for a 4xx/5xx answer, which has the path and is written
  outside the request's context. (An exception's traceback is still logged by Django,
  inside the context, and that line marks the response as logged already.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import sentry_sdk
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from worker import context

from .metrics import REQUEST_LATENCY

logger = logging.getLogger("apsupport.request")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes polled every few seconds: their lines are DEBUG, not INFO, and a failing probe a
# WARNING (not an ERROR per probe while a dependency is down).
QUIET_VIEWS = frozenset({"liveness", "readiness", "metrics"})


def actor_of(request: HttpRequest) -> str | None:
    attributes = request.__dict__
    user = attributes.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        user = None  # not loaded by anyone: do not load it for a log line
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    api_key = attributes.get("api_key")
    if api_key is not None:
        return f"apikey:{api_key.pk}"
    account = attributes.get("extranet_account")
    if account is not None:
        return f"account:{account.pk}"
    return None


def view_of(request: HttpRequest) -> tuple[str, str]:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>", ""
    return match.view_name or "<unnamed>", match.route or ""


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = (
            context.valid_request_id(request.META.get("HTTP_X_REQUEST_ID"))
            or context.new_request_id()
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens = context.bind(request_id=request_id, actor=lambda: actor_of(request))
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            self._record(request, response, elapsed)
            response["X-Request-ID"] = request_id
            return response
        finally:
            context.unbind(tokens)

    def process_view(self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any) -> None:
        # For an error report (when Sentry is configured; a no-op otherwise): which view,
        # and the id to find the request's log lines. Never the URL (tokens).
        if not sentry_sdk.get_client().is_active():
            return
        view, _route = view_of(request)
        sentry_sdk.set_tag("view", view)
        sentry_sdk.set_tag("request_id", getattr(request, "request_id", ""))

    @staticmethod
    def _record(request: HttpRequest, response: HttpResponse, elapsed: float) -> None:
        view, route = view_of(request)
        method = request.method if request.method in METHODS else "OTHER"
        status = response.status_code
        REQUEST_LATENCY.labels(view=view, method=method, status=str(status)).observe(elapsed)
        if getattr(response, "_has_been_logged", False):
            level = logging.DEBUG  # Django logged it with its traceback, in this context
        elif view in QUIET_VIEWS:
            level = logging.DEBUG if status < 400 else logging.WARNING
        else:
            level = (
                logging.ERROR
                if status >= 500
                else logging.WARNING
                if status >= 400
                else logging.INFO
            )
        # Django's own line for a 4xx/5xx answer would give the path (see above).
        response._has_been_logged = True  # type: ignore[attr-defined]
        logger.log(
            level,
            "%s %s %s %.1f ms",
            method,
            view,
            status,
            elapsed * 1000,
            extra={
                "http": {
                    "method": method,
                    "view": view,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                }
            },
        )
