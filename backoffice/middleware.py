"""Back-office session lifetime: idle and absolute expiry.

Django's session cookie age alone gives either an idle limit (re-saving the session on
every request, one write per request) or an absolute one, not both. This middleware stores
the login time and the last activity in the session and ends the session when either limit
is passed. The last activity is rewritten at most once a minute, so an agent clicking
through pages does not cost a database write per request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.translation import gettext as _

LOGIN_AT_KEY = "backoffice_login_at"
SEEN_AT_KEY = "backoffice_seen_at"
SEEN_RESOLUTION_SECONDS = 60


@receiver(user_logged_in)
def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_KEY] = now
        request.session[SEEN_AT_KEY] = now


class SessionExpiryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request) -> None:
        session = request.session
        now = int(time.time())
        login_at = session.get(LOGIN_AT_KEY)
        seen_at = session.get(SEEN_AT_KEY, login_at)
        max_age = settings.BACKOFFICE_SESSION_MAX_HOURS * 3600
        idle = settings.BACKOFFICE_SESSION_IDLE_MINUTES * 60
        # A session without a login stamp was not opened by a login: treat it as expired.
        if login_at is None or now - login_at > max_age or now - (seen_at or 0) > idle:
            logout(request)
            messages.info(request, _("Votre session a expiré. Reconnectez-vous."))
            return
        if now - seen_at >= SEEN_RESOLUTION_SECONDS:
            session[SEEN_AT_KEY] = now


class CacheUnavailableMiddleware:
    """A counter the cache cannot keep (``worker.cache.CacheUnavailable``) that no caller
    handled, e.g. django-axes on ``/admin/``'s login: a French 503 page, not a 500. The
    callers that decided what to do without the cache (README.md, "When the cache is
    down") handle it themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from worker.cache import CacheUnavailable

        if isinstance(exception, CacheUnavailable):
            return render(request, "errors/503.html", status=503)
        return None
