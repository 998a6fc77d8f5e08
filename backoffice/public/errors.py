"""The site's error pages (400, 403, 404, 500 and the CSRF failure): French, DSFR, a way
back, and never a technical detail (no exception text, no URL patterns), whatever DEBUG
says for the 500 and CSRF pages. Wired in backoffice/urls.py (handler400 …) and by
CSRF_FAILURE_VIEW."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


def _error_page(request, template: str, status: int) -> HttpResponse:
    path = getattr(request, "path", "") or ""
    context = {"backoffice": path.startswith("/backoffice/")}
    try:
        content = loader.render_to_string(template, context, request=request)
    except Exception:
        # The page must show even when what failed is what the context processors read
        # (the database behind the live notices): render it again without them.
        logger.exception("Error page %s rendered without its context processors", status)
        content = loader.get_template(template).render(context)
    return HttpResponse(content, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    return _error_page(request, "errors/400.html", 400)


@requires_csrf_token
def permission_denied(request, exception=None):
    return _error_page(request, "errors/403.html", 403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return _error_page(request, "errors/404.html", 404)


@requires_csrf_token
def server_error(request):
    return _error_page(request, "errors/500.html", 500)


def csrf_failure(request, reason=""):
    # ``reason`` is Django's technical explanation: logged by Django, never shown.
    return _error_page(request, "errors/csrf.html", 403)
