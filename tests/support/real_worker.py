"""Fixtures for tests that run a real Celery worker process on Redis and a real SMTP
server (an aiosmtpd sink). Import the fixtures you need into the test module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.db import connection

from worker.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


class Sink(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _reset_broker_connections() -> None:
    # Drop the pooled connections so the next publish connects to the current broker_url.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def real_broker():
    """The test process publishes to Redis instead of running tasks inline."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def unreachable_broker():
    """Returns a context manager during which the test process's broker is a closed
    port: publishing fails as it does when Redis is down."""
    from contextlib import contextmanager

    @contextmanager
    def down():
        # Celery reads CELERY_BROKER_URL from the environment before its own setting.
        original = celery_app.conf.broker_url
        original_env = os.environ.get("CELERY_BROKER_URL")
        closed = f"redis://127.0.0.1:{free_port()}/0"
        celery_app.conf.broker_url = closed
        os.environ["CELERY_BROKER_URL"] = closed
        _reset_broker_connections()
        try:
            yield
        finally:
            celery_app.conf.broker_url = original
            if original_env is None:
                os.environ.pop("CELERY_BROKER_URL", None)
            else:
                os.environ["CELERY_BROKER_URL"] = original_env
            _reset_broker_connections()

    return down


def worker_env(smtp_port: int) -> dict:
    settings_dict = connection.settings_dict
    db_url = (
        f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}"
        f":{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "APP_ENV": "test",
        "DATABASE_URL": db_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }


@pytest.fixture
def worker_process(smtp_sink):
    controller, _handler = smtp_sink
    env = worker_env(controller.port)
    celery = [sys.executable, "-m", "celery", "-A", "worker"]
    subprocess.run([*celery, "purge", "-f"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    process = subprocess.Popen(
        [*celery, "worker", "--pool=solo", "--loglevel=INFO", "--without-heartbeat",
         "--without-gossip", "--without-mingle", f"--hostname=test-{os.getpid()}@%h"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False
