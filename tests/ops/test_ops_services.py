"""With real services (CI's second pass: PostgreSQL and Redis): /readyz follows a Redis
stopped and started, a worker process stopped and started, a beat process stopped and
started; a request id travels from a web request into a real worker's JSON log lines;
gunicorn's worker processes add up their request latencies in one scrape."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from accounts.staff.services import api_key_create
from tests.support import services
from tests.support.services import ROOT, publishing_to, wait_for
from worker import telemetry
from worker.models import EmailStatus, OutboundEmail
from worker.tasks import heartbeat

from .helpers import OPS_TOKEN, REMOTE, value

pytestmark = pytest.mark.services

HEARTBEAT = 1  # seconds between beat's pings in these tests
BOUND = 4  # seconds of silence before a worker or beat is reported down


def probe(client):
    response = client.get("/readyz", HTTP_AUTHORIZATION=f"Bearer {OPS_TOKEN}", **REMOTE)
    body = response.json()
    return response.status_code, {name for name, c in body["checks"].items() if not c["ok"]}


def port_in_our_range() -> int:
    """A free port among those this project's servers use (41600-41699)."""
    for port in range(41600, 41700):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 41600-41699")


@pytest.mark.django_db
def test_readyz_follows_a_real_redis_stopped_and_started(client, own_redis, settings):
    telemetry.on_before_publish(sender=telemetry.HEARTBEAT_TASK, headers={})
    heartbeat.delay()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
        }
    }
    with publishing_to(own_redis.url):
        assert probe(client) == (200, set())
        own_redis.stop()
        assert probe(client) == (503, {"cache", "broker"})
        own_redis.start()
        assert wait_for(lambda: probe(client) == (200, set()), timeout=15)


class BeatProcess:
    def __init__(self, tmp_path):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "APP_ENV": "test",
            "DATABASE_URL": services.test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "OPS_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "OPS_WORKER_SILENCE_SECONDS": str(BOUND),
            "OPS_BEAT_SILENCE_SECONDS": str(BOUND),
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.schedule = tmp_path / "celerybeat-schedule"
        self.log = tmp_path / "beat.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.schedule}",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def beat(tmp_path):
    process = BeatProcess(tmp_path)
    yield process
    process.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readyz_follows_real_worker_and_beat_processes(
    client, settings, smtp_sink, start_worker, beat
):
    settings.OPS_WORKER_SILENCE_SECONDS = BOUND
    settings.OPS_BEAT_SILENCE_SECONDS = BOUND

    def state():
        return probe(client)

    assert state() == (503, {"worker", "beat"})  # never seen
    worker = start_worker(broker_url=settings.CELERY_BROKER_URL, smtp_port=smtp_sink.port)
    beat.start()
    assert wait_for(lambda: state() == (200, set()), timeout=60), (
        state(),
        worker.output(),
        beat.log.read_text()[-3000:],
    )

    worker.stop()  # beat keeps pinging, nobody answers
    assert wait_for(lambda: state() == (503, {"worker"}), timeout=30), state()
    start_worker(broker_url=settings.CELERY_BROKER_URL, smtp_port=smtp_sink.port)
    assert wait_for(lambda: state() == (200, set()), timeout=60), state()

    beat.stop()  # no more pings: beat is down (and no worker can prove itself alive)
    assert wait_for(lambda: "beat" in state()[1], timeout=30), state()
    beat.start()
    assert wait_for(lambda: state() == (200, set()), timeout=60), (
        state(),
        beat.log.read_text()[-3000:],
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_request_id_goes_from_the_web_log_line_to_the_workers_log_lines(
    client, caplog, smtp_sink, start_worker, valid_request_data
):
    caplog.set_level("INFO")
    key, raw = api_key_create(name="extranet-test")
    worker = start_worker(
        broker_url=settings.CELERY_BROKER_URL,
        smtp_port=smtp_sink.port,
        extra_env={"LOG_FORMAT": "json"},
    )
    with publishing_to(settings.CELERY_BROKER_URL):
        response = client.post(
            "/api/v1/assistance-requests",
            data=json.dumps(valid_request_data),
            content_type="application/json",
            HTTP_X_API_KEY=raw,
        )
    assert response.status_code == 201
    request_id = response["X-Request-ID"]
    [web] = [r for r in caplog.records if r.name == "apsupport.request"]
    assert (web.request_id, web.actor) == (request_id, f"apikey:{key.pk}")

    assert wait_for(lambda: OutboundEmail.objects.filter(status=EmailStatus.SENT).exists()), (
        worker.output()
    )
    assert OutboundEmail.objects.get().request_id == request_id

    def task_lines():
        lines = []
        for raw_line in worker.log.read_text().splitlines():
            try:
                entry = json.loads(raw_line)
            except ValueError:
                continue  # Celery's banner
            if entry.get("request_id") == request_id:
                lines.append(entry)
        return lines

    assert wait_for(lambda: any("succeeded" in e["message"] for e in task_lines()), timeout=10)
    lines = task_lines()
    sent = [e for e in lines if e["logger"] == "worker.services" and "sent" in e["message"]]
    assert sent, lines
    # The actor travels only in the task's headers (the outbox row has the request id).
    assert sent[0]["actor"] == f"apikey:{key.pk}"
    assert sent[0]["task"].startswith("worker.tasks.send_email[")
    assert all("exemple.fr" not in json.dumps(e).lower() for e in lines)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_gunicorn_workers_add_up_their_latencies_in_one_scrape(tmp_path):
    port = port_in_our_range()
    folder = tmp_path / "prometheus"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "APP_ENV": "test",
        "DATABASE_URL": services.test_database_url(),
        "OPS_TOKEN": OPS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "backoffice.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def get(path, **headers):
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read().decode()

    try:
        assert wait_for(lambda: _answers(get), timeout=30)
        # Concurrent requests, so that both worker processes serve some.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: get("/healthz"), range(40)))
        scrapes = [get("/metrics", Authorization=f"Bearer {OPS_TOKEN}") for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(list(folder.glob("histogram_*.db"))) >= 2  # one file per worker process
    name = "apsupport_http_request_duration_seconds_count"
    # Whichever process answered a scrape, it counted every process's requests.
    for text in scrapes:
        assert value(text, name, view="liveness", method="GET", status=200) == 40


def _answers(get) -> bool:
    try:
        get("/metrics", Authorization=f"Bearer {OPS_TOKEN}")  # not a /healthz request
        return True
    except OSError:
        return False
