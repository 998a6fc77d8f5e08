"""The cache is an optimisation (worker/cache.py): with its Redis unreachable, intake (form
and API), the public pages with the live-notices banner and the back-office keep working,
reading through to the database, each request paying at most one short timeout, with one
warning per interval. The protections apply their own rule (README.md, "When the cache is
down"): per-IP limits count in the process's memory, the extranet login asks for the
security code, the back-office login refuses to check a password (503).

Against a real Redis of our own, stopped then restarted (CI's second pass, ``services``),
and, in every pass, against a port where nothing listens and a server that never answers.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from unittest import mock

import pytest
from django.core.cache import cache

from accounts.staff.services import api_key_create
from backoffice.public import ratelimit
from tests.accounts.helpers import with_captcha
from tests.backoffice.test_notice_pages import make_notice
from tests.factories import EXTRANET_TEST_PASSWORD, ExtranetAccountFactory, UserFactory
from tests.support.services import RedisProcess, free_port, wait_for
from tickets.models import Ticket
from worker import cache as resilient
from worker.memo import STAMP_KEY

TIMEOUT = 0.5
RETRY = 1.0


def cache_settings(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "worker.cache.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "socket_connect_timeout": TIMEOUT,
                "socket_timeout": TIMEOUT,
                "down_retry_seconds": RETRY,
                "down_warning_seconds": 60.0,
            },
        }
    }


@pytest.fixture
def point_cache_at(settings):
    from axes.handlers.proxy import AxesProxyHandler

    def point(url: str) -> None:
        resilient._health.clear()
        ratelimit._fallback.clear()  # the in-memory counters of an earlier outage
        settings.CACHES = cache_settings(url)
        # django-axes keeps the cache object it was first given (settings never change
        # in a running process): hand it the new one.
        AxesProxyHandler.implementation = None

    yield point
    resilient._health.clear()
    AxesProxyHandler.implementation = None


@contextlib.contextmanager
def silent_server():
    """A TCP server that accepts connections and never answers (a Redis that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture
def world(db, valid_request_data, supervisor, agent):
    """A live notice, an extranet account, an API key, a supervisor signed in."""
    notice = make_notice(supervisor, state="published", title="Incident sur l'extranet")
    return {
        "notice": notice,
        "account": ExtranetAccountFactory(with_password=True),
        "api_key": api_key_create(name="outage")[1],
        "request": valid_request_data,
    }


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def exercise(client, verified_client, supervisor, world, settings) -> dict[str, float]:
    """Every path the issue names, with the cache down. Returns each request's time."""
    times: dict[str, float] = {}
    # Public pages, with the banner read from the database.
    for path in ("/", "/accessibilite/", "/assistance/"):
        response, times[path] = timed(lambda p=path: client.get(p))
        assert response.status_code == 200, path
        assert "Incident sur l&#x27;extranet" in response.content.decode(), path
    # Intake, the form...
    data = with_captcha(client, "/assistance/", world["request"])
    response, times["form intake"] = timed(lambda: client.post("/assistance/", data))
    assert response.status_code == 302 and response["Location"] == "/assistance/merci/"
    # ... and the API.
    response, times["api intake"] = timed(
        lambda: client.post(
            "/api/v1/assistance-requests",
            {**world["request"], "email": "autre@exemple.fr", "motif": "autres"},
            content_type="application/json",
            HTTP_X_API_KEY=world["api_key"],
        )
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 2
    response, times["notices api"] = timed(lambda: client.get("/api/v1/notices/active"))
    assert response.status_code == 200 and "Incident sur" in response.content.decode()
    # The back-office, for an agent already signed in (sessions are in the database).
    staff = verified_client(supervisor)
    for path in ("/backoffice/", "/backoffice/tableau-de-bord/"):
        response, times[path] = timed(lambda p=path: staff.get(p, follow=True))
        assert response.status_code == 200, path
    # The back-office login fails closed: no password is checked without django-axes.
    user = UserFactory(email="nouvelle.agente@asp.example")
    user.set_password(EXTRANET_TEST_PASSWORD)
    user.save()
    response, times["backoffice login"] = timed(
        lambda: client.post(
            "/backoffice/connexion/",
            {"email": user.email, "password": EXTRANET_TEST_PASSWORD},
        )
    )
    assert response.status_code == 503
    assert "momentanément indisponible" in response.content.decode()
    # /admin/'s login goes through django-axes too: a French 503 page, not a 500.
    response = client.post("/admin/login/", {"username": user.email, "password": "mauvais"})
    assert response.status_code == 503
    assert "Service momentanément indisponible" in response.content.decode()
    # The extranet login asks for the security code, and the holder gets in with it.
    account = world["account"]
    assert 'name="captcha_1"' in client.get("/").content.decode()
    with mock.patch("accounts.extranet.forms.extranet_authenticate") as authenticate:
        response = client.post(
            "/", {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD}
        )
    authenticate.assert_not_called()  # no code, no password check
    assert 'name="captcha_1"' in response.content.decode()
    answer = with_captcha(client, "/", {})
    response, times["extranet login"] = timed(
        lambda: client.post(
            "/",
            {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD, **answer},
        )
    )
    assert response.status_code == 302 and response["Location"] == "/espace/"
    client.post("/espace/deconnexion/")
    # The per-IP limit of the public forms still holds, counted in this process.
    settings.PUBLIC_FORM_POSTS_PER_IP_PER_HOUR = 2
    statuses = []
    for _ in range(3):
        data = with_captcha(client, "/compte/mot-de-passe-oublie/", {"identifiant": "APX1"})
        statuses.append(client.post("/compte/mot-de-passe-oublie/", data).status_code)
    assert statuses == [302, 302, 429]
    return times


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "worker.cache"]


def test_nothing_listening_on_the_cache_port(
    client, verified_client, supervisor, world, settings, point_cache_at, caplog
):
    point_cache_at(f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING, logger="worker.cache")
    times = exercise(client, verified_client, supervisor, world, settings)
    # Connection refused: nothing waits.
    assert max(times.values()) < 2.0, times
    unreachable = [m for m in warnings_of(caplog) if m.startswith("Cache unreachable")]
    assert len(unreachable) == 1, warnings_of(caplog)


def test_a_cache_that_never_answers_costs_a_request_one_short_timeout_at_most(
    client, world, point_cache_at, caplog
):
    caplog.set_level(logging.WARNING, logger="worker.cache")
    with silent_server() as url:
        point_cache_at(url)
        # The home page reads the notices (get), then would store them (set) and the
        # security code check would count (add): one timeout, then the cache is left
        # alone for RETRY seconds.
        first, first_time = timed(lambda: client.get("/"))
        second, second_time = timed(lambda: client.get("/"))
    assert first.status_code == second.status_code == 200
    assert TIMEOUT <= first_time < 2 * TIMEOUT, first_time
    assert second_time < TIMEOUT, second_time
    assert len(warnings_of(caplog)) == 1


def test_the_warning_comes_once_per_interval_and_the_cache_is_tried_again(
    client, world, settings, point_cache_at, caplog
):
    caplog.set_level(logging.WARNING, logger="worker.cache")
    url = f"redis://127.0.0.1:{free_port()}/0"
    point_cache_at(url)
    settings.CACHES["default"]["OPTIONS"]["down_retry_seconds"] = 0.2
    settings.CACHES = {**settings.CACHES}
    resilient._health.clear()
    for _ in range(5):
        assert client.get("/").status_code == 200
        time.sleep(0.25)  # past the retry delay: Redis is tried again on every request
    assert len([m for m in warnings_of(caplog) if m.startswith("Cache unreachable")]) == 1


# --- A real Redis, stopped and restarted (CI's second pass) ------------------------------


@pytest.mark.services
def test_a_real_redis_stopped_then_restarted(
    client, verified_client, supervisor, world, settings, point_cache_at, caplog
):
    redis = RedisProcess(free_port())
    redis.start()
    try:
        point_cache_at(redis.url)
        caplog.set_level(logging.WARNING, logger="worker.cache")
        # Up: the memos' stamp (banner, API keys) is in Redis, the back-office login is
        # checked by axes.
        assert client.get("/").status_code == 200
        assert cache.get(STAMP_KEY) is not None
        # Down.
        redis.stop()
        times = exercise(client, verified_client, supervisor, world, settings)
        assert max(times.values()) < 2.0, times
        assert len([m for m in warnings_of(caplog) if "unreachable" in m]) == 1
        # Back, on the same port (empty: no persistence). After the retry delay the
        # cache is used again: the memos' stamp is stored again, the back-office login works.
        redis.start()
        time.sleep(RETRY + 0.1)
        assert client.get("/").status_code == 200
        assert wait_for(lambda: cache.get(STAMP_KEY) is not None, timeout=5)
        assert "Cache reachable again." in warnings_of(caplog)
        user = UserFactory(email="retour@asp.example")
        user.set_password(EXTRANET_TEST_PASSWORD)
        user.save()
        response = client.post(
            "/backoffice/connexion/", {"email": user.email, "password": EXTRANET_TEST_PASSWORD}
        )
        assert response.status_code == 302
        assert re.search(r"/backoffice/(code|second-facteur|otp)", response["Location"]) or (
            "backoffice" in response["Location"]
        )
        # The per-identifiant count is back in Redis: no code asked for a fresh identifiant.
        account = ExtranetAccountFactory(with_password=True)
        home = client.get("/")
        assert 'name="captcha_1"' not in home.content.decode()
        assert (
            client.post(
                "/", {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD}
            ).status_code
            == 302
        )
    finally:
        redis.stop()
