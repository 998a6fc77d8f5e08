"""/readyz: each dependency in turn goes down and comes back, and the answer follows (503
with what failed, then 200); every check says its state and latency; /healthz stays the
cheap liveness check. Here with real failures that need no service (a Redis port nobody
listens on, a database file that cannot be opened, the clock past a bound); with a real
Redis stopped and real worker and beat processes in test_readiness_services.py."""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.utils import ConnectionHandler
from freezegun import freeze_time

from backoffice.ops import readiness
from tests.support.services import free_port, publishing_to
from worker import telemetry
from worker.tasks import heartbeat

from .helpers import OPS_TOKEN, REMOTE

pytestmark = pytest.mark.django_db

CHECKS = {"database", "cache", "broker", "worker", "beat"}


def probe(client):
    response = client.get("/readyz", HTTP_AUTHORIZATION=f"Bearer {OPS_TOKEN}", **REMOTE)
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def beat_ticks_and_a_worker_answers():
    """What beat (publishing the ping) and a worker (running it) record."""
    telemetry.on_before_publish(sender=telemetry.HEARTBEAT_TASK, headers={})
    heartbeat.delay()


def down(body) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def test_everything_up_answers_200_with_each_check_its_state_and_latency(client):
    beat_ticks_and_a_worker_answers()
    status, body = probe(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        assert check["state"] == "ok" and check["ok"] is True
        assert check["latency_ms"] >= 0
        assert check["detail"]


def test_anonymous_callers_are_refused(client):
    response = client.get("/readyz", **REMOTE)
    assert response.status_code == 401
    assert "checks" not in response.json()


def test_healthz_stays_cheap_and_open(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz", **REMOTE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_beat_silent_longer_than_the_bound_is_down_then_recovers(client, settings):
    settings.OPS_BEAT_SILENCE_SECONDS = 60
    with freeze_time("2026-03-02 10:00:00"):
        beat_ticks_and_a_worker_answers()
    with freeze_time("2026-03-02 10:00:59"):
        assert probe(client)[0] == 200
    with freeze_time("2026-03-02 10:01:01"):
        status, body = probe(client)
        assert status == 503
        assert body["status"] == "down"
        assert "beat" in down(body)
        assert "61 s" in body["checks"]["beat"]["detail"]
        # Beat is back.
        beat_ticks_and_a_worker_answers()
        assert probe(client)[0] == 200


def test_no_worker_answering_within_the_bound_is_down_then_recovers(client, settings):
    settings.OPS_WORKER_SILENCE_SECONDS = 60
    with freeze_time("2026-03-02 10:00:00"):
        beat_ticks_and_a_worker_answers()
    with freeze_time("2026-03-02 10:01:30"):
        # Beat keeps ticking, but no worker takes its pings.
        telemetry.on_before_publish(sender=telemetry.HEARTBEAT_TASK, headers={})
        status, body = probe(client)
        assert status == 503
        assert down(body) == {"worker"}
        assert "90 s" in body["checks"]["worker"]["detail"]
        heartbeat.delay()  # a worker is back
        assert probe(client)[0] == 200


def test_a_worker_that_answers_too_late_is_down(client, settings):
    settings.OPS_WORKER_SILENCE_SECONDS = 60
    beat_ticks_and_a_worker_answers()
    now = telemetry._now()
    telemetry.heartbeat_answer(sent_at=now - 75)  # the ping waited 75 s in the queue
    status, body = probe(client)
    assert status == 503
    assert down(body) == {"worker"}
    assert "75 s" in body["checks"]["worker"]["detail"]
    telemetry.heartbeat_answer(sent_at=telemetry._now() - 0.5)
    assert probe(client)[0] == 200


def test_never_seen_worker_and_beat_are_down(client):
    status, body = probe(client)
    assert status == 503
    assert down(body) == {"worker", "beat"}


def test_the_cache_down_then_back(client, settings):
    beat_ticks_and_a_worker_answers()
    port = free_port()  # nothing listens there
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    status, body = probe(client)
    assert status == 503
    assert down(body) == {"cache"}
    assert "ConnectionError" in body["checks"]["cache"]["detail"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert probe(client)[0] == 200


def test_the_broker_down_then_back(client):
    beat_ticks_and_a_worker_answers()
    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):
        status, body = probe(client)
    assert status == 503
    assert down(body) == {"broker"}
    assert probe(client)[0] == 200


def test_the_database_down_then_back(client, monkeypatch, tmp_path):
    beat_ticks_and_a_worker_answers()
    # A real connection that cannot be opened (a database file in a missing folder): the
    # check, and those that read the heartbeats, report it.
    unreachable = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp_path / "missing" / "db.sqlite3"),
            }
        }
    )["default"]
    monkeypatch.setattr(readiness, "connection", unreachable)
    status, body = probe(client)
    assert status == 503
    assert "database" in down(body)
    assert "OperationalError" in body["checks"]["database"]["detail"]
    monkeypatch.setattr(readiness, "connection", connections["default"])
    assert probe(client)[0] == 200
