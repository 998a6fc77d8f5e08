"""Error reporting to Sentry, only when ``SENTRY_DSN`` is set (``backoffice/settings.py``).

Personal data stays home: ``send_default_pii`` off (no user, no IP, no cookie), no request
body, no local variables, and what the integrations would still send is trimmed here: the
URL (some paths carry a secret link's token), the query string, headers other than a
harmless few, e-mail addresses in messages, breadcrumbs and exception texts. The event is
tagged with the view and the request id, which lead to the request's log lines.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger

from worker import context

from .logformat import redact

KEPT_HEADERS = frozenset({"user-agent", "accept", "accept-language", "content-type"})


def _scrub_request(request: dict) -> None:
    for key in ("url", "query_string", "data", "cookies", "env"):
        request.pop(key, None)
    headers = request.get("headers") or {}
    request["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}


def _scrub_text(event: dict) -> None:
    if isinstance(event.get("message"), str):
        event["message"] = redact(event["message"])
    logentry = event.get("logentry") or {}
    if isinstance(logentry.get("message"), str):
        logentry["message"] = redact(logentry["message"])
    if "params" in logentry:
        logentry["params"] = [redact(str(p)) for p in logentry["params"]]
    if isinstance(logentry.get("formatted"), str):
        logentry["formatted"] = redact(logentry["formatted"])
    for value in (event.get("exception") or {}).get("values") or []:
        if isinstance(value.get("value"), str):
            value["value"] = redact(value["value"])
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        scrub_breadcrumb(crumb, {})


def scrub_event(event: Any, hint: dict[str, Any]) -> Any:
    if isinstance(event.get("request"), dict):
        _scrub_request(event["request"])
    _scrub_text(event)
    event.pop("user", None)
    tags = event.setdefault("tags", {})
    request_id = context.request_id()
    if request_id:
        tags.setdefault("request_id", request_id)
    return event


def scrub_breadcrumb(crumb: Any, hint: dict[str, Any]) -> Any:
    if isinstance(crumb.get("message"), str):
        crumb["message"] = redact(crumb["message"])
    data = crumb.get("data")
    if isinstance(data, dict):
        # SQL parameters and HTTP URLs may carry personal data or tokens.
        for key in ("params", "url", "http.query", "http.fragment"):
            data.pop(key, None)
    return crumb


def sentry_init(
    *, dsn: str, environment: str, release: str | None = None, transport: Any = None
) -> None:
    # One line per request, an ERROR for a 5xx: the exception is the event, not this line.
    ignore_logger("apsupport.request")
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        include_source_context=False,
        traces_sample_rate=0.0,
        # Error log records become events too (the logging integration is on by default).
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        transport=transport,
    )
