"""Back-office session lifetime: idle and absolute expiry.

Django's session cookie age alone gives either an idle limit (re-saving the session on
every request, one write per request) or an absolute one, not both. This middleware stores
the login time and the last activity in the session and ends the session when either limit
is passed. The last activity is rewritten at most once a minute, so an agent clicking
through pages does not cost a database write per request.
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as django_otp_login
from django_otp.middleware import OTPMiddleware

from accounts.staff.second_factor import (
    FINGERPRINT_SESSION_KEY,
    device_fingerprint,
    second_factor_valid,
)

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


def second_factor_login(request, device) -> None:
    """The code was right: the session is verified with ``device`` (django-otp's device id)
    and remembers its fingerprint, which every later request checks without SQL."""
    django_otp_login(request, device)
    request.session[FINGERPRINT_SESSION_KEY] = device_fingerprint(device)


class SecondFactorMiddleware(OTPMiddleware):
    """django-otp's middleware (``request.user.is_verified()``, ``otp_device``), with the
    device checked once per session instead of loaded on every request
    (``accounts.staff.second_factor``). A session whose device was deleted, reset or
    unconfirmed since its code is ended at its next request (flushed: back to the
    password); a deactivated user is refused by Django's own session check."""

    def _verify_user_sync(self, request, user):
        self._init_user_fields(user)
        if not user.is_authenticated:
            return user
        session = request.session
        persistent_id = session.get(DEVICE_ID_SESSION_KEY)
        if not persistent_id:
            return user  # password only: not verified
        fingerprint = session.get(FINGERPRINT_SESSION_KEY)
        if fingerprint is None:
            # A session verified before fingerprints (or built by hand): django-otp's
            # check once, then the fingerprint of the device it found.
            device = self._finalize_device(
                request, user, self._device_from_persistent_id(persistent_id)
            )
            if device is not None:
                session[FINGERPRINT_SESSION_KEY] = device_fingerprint(device)
            user.otp_device = device
            return user
        if second_factor_valid(
            user_id=user.pk, persistent_id=persistent_id, fingerprint=fingerprint
        ):
            # Verified; the device row itself is read only if someone asks for it.
            user.otp_device = SimpleLazyObject(
                functools.partial(self._device_from_persistent_id, persistent_id)
            )
            return user
        # The device changed since the code was typed: the session ends here.
        session.flush()
        if hasattr(request, "_messages"):
            messages.warning(
                request,
                _("Votre second facteur a changé : reconnectez-vous."),
                fail_silently=True,
            )
        anonymous = AnonymousUser()
        self._init_user_fields(anonymous)
        return anonymous
