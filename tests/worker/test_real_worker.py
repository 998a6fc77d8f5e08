"""A real Celery worker process, through Redis, writing to a real SMTP server (a local
sink). Runs in CI's second pass (PostgreSQL + Redis)."""

from __future__ import annotations

import time

import pytest

from tests.support.real_worker import wait_for
from tickets.models import EventKind, Source
from tickets.services import assistance_request_submit
from tickets.validation import AssistanceRequestForm
from worker.models import EmailStatus, OutboundEmail

# serialized_rollback: the data migrations' rows (queues, routing rules) come back after
# the flush that ends each transactional test.
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


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
