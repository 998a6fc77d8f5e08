"""Real services for tests of the second CI pass: a local SMTP sink, a Redis server of
our own (so a test can stop it without touching the shared one), Celery worker
processes. Everything listens on 127.0.0.1 and is stopped by the fixture that started it.
Import the fixtures you need into the test module."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from worker.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 45.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class SinkHandler:
    """An SMTP server that stores what it accepts. ``mode``: "accept"; "refuse" (451, a
    temporary failure); "reject" (550, a permanent one); "slow" (waits ``delay`` seconds
    before accepting)."""

    def __init__(self):
        self.messages: list[bytes] = []
        self.mode = "accept"
        self.delay = 0.0
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.attempts += 1
        if self.mode == "refuse":
            return "451 4.3.0 Mailbox temporarily unavailable"
        if self.mode == "reject":
            return "550 5.1.1 Mailbox unknown"
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink():
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


class RedisProcess:
    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self._answers, timeout=10), "our redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False


@pytest.fixture
def own_redis():
    redis = RedisProcess(free_port())
    redis.start()
    yield redis
    redis.stop()


@contextlib.contextmanager
def publishing_to(broker_url: str):
    """Make this test process publish tasks to ``broker_url`` (instead of running them
    inline, as the other tests do)."""
    # ``broker_url`` set at run time is shadowed by the Django setting it was read from;
    # ``broker_write_url`` is what producers use first, and is not set otherwise.
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_write_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_write_url = broker_url
    celery_app._after_fork()  # drop pooled connections to the previous broker
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_write_url = saved
        celery_app._after_fork()


def test_database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}"
        f":{s['PORT'] or 5432}/{s['NAME']}"
    )


class WorkerProcess:
    def __init__(self, *, broker_url: str, smtp_port: int, extra_env: dict | None = None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "APP_ENV": "test",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **(extra_env or {}),
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process: subprocess.Popen | None = None
        self.log = ROOT / "var" / f"test-worker-{os.getpid()}-{id(self)}.log"

    def _celery(self, *args) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "worker", *args]

    def purge(self) -> None:
        subprocess.run(
            self._celery("purge", "-f"),
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            self._celery(
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=test-{os.getpid()}-{id(self)}@%h",
            ),
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: the worker dies wherever it is, as on a machine failure."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""


@pytest.fixture
def start_worker():
    """``start_worker(broker_url=…, smtp_port=…)`` → a running WorkerProcess, stopped at
    the end of the test."""
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(**kwargs)
        if not started:
            worker.purge()
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        worker.log.unlink(missing_ok=True)
