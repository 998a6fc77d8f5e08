"""How the load test signs in as an agent and which authenticated pages it loads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse


def _bench_agent():
    # Local: bench/ runs as a script and imports project code after django.setup().
    from backoffice.benchmark.seed import bench_users

    return bench_users()[0]


def bench_agent_session_cookie() -> str:
    """A back-office session as after password + TOTP code (a confirmed device recorded
    in the session, as django-otp's login does)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = _bench_agent()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
        TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def load_scenarios() -> list[tuple[str, str]]:
    """Authenticated GET pages for the load test: (name, path)."""
    return [
        (
            "queue page GET /backoffice/files/habilitation/",
            reverse("backoffice:queue", args=["habilitation"]),
        ),
    ]
