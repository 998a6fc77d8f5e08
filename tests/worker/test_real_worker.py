"""A real Celery worker process, through Redis, writing to a real SMTP server (a local
sink). Runs in CI's second pass (PostgreSQL + Redis)."""

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

from tickets.models import EventKind, Source
from tickets.services import assistance_request_submit
from tickets.validation import AssistanceRequestForm
from worker.celery import app as celery_app
from worker.models import EmailStatus, OutboundEmail

# serialized_rollback: an earlier transactional test flushes the queues seeded by migrations.
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

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


@pytest.fixture
def real_broker():
    """The test process publishes to Redis instead of running tasks inline."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


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


def test_the_worker_process_sends_the_acknowledgement_through_redis_and_smtp(
    smtp_sink, real_broker, worker_process, valid_request_data
):
    _controller, sink = smtp_sink
    form = AssistanceRequestForm(data=valid_request_data)
    assert form.is_valid()
    ticket = assistance_request_submit(data=form.cleaned_data, source=Source.API).ticket

    arrived = wait_for(lambda: len(sink.messages) >= 1)
    if not arrived:
        worker_process.terminate()
        pytest.fail("no e-mail arrived; worker output:\n" + worker_process.stdout.read()[-4000:])
    [message] = sink.messages
    assert ticket.reference in message["Subject"]
    assert message["To"] == "claire.dupont@exemple.fr"
    assert wait_for(
        lambda: OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 1, timeout=10
    )
    assert ticket.events.filter(kind=EventKind.EMAIL_SENT).count() == 1
    time.sleep(1)
    assert len(sink.messages) == 1  # exactly once
