"""How the bench logs in as an agent and which authenticated pages it loads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

BENCH_AGENT_EMAIL = "bench.agent@asp.example"


def bench_agent():
    from accounts.models import Role, User
    from tickets.models import Queue

    user, _ = User.objects.get_or_create(
        email=BENCH_AGENT_EMAIL,
        defaults={"first_name": "Bench", "last_name": "Agent", "role": Role.SUPERVISOR},
    )
    for queue in Queue.objects.all():
        queue.members.add(user)
    return user


def bench_agent_session_cookie() -> str:
    user = bench_agent()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def load_scenarios() -> list[tuple[str, str]]:
    """Authenticated GET pages for the load test: (name, path)."""
    return []
