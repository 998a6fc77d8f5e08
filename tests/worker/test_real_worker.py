"""A real Celery worker process, through Redis, writing to a real SMTP server (a local
sink). Runs in CI's second pass (PostgreSQL + Redis)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from tests.support.services import publishing_to, wait_for
from tickets.forms import AssistanceRequestForm
from tickets.models import EventKind, Source
from tickets.services import assistance_request_submit
from worker.models import EmailStatus, OutboundEmail

# serialized_rollback: an earlier transactional test flushes the queues seeded by migrations.
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_worker_process_sends_the_acknowledgement_through_redis_and_smtp(
    smtp_sink,
    start_worker,
    valid_request_data,
):
    worker = start_worker(broker_url=settings.CELERY_BROKER_URL, smtp_port=smtp_sink.port)
    form = AssistanceRequestForm(data=valid_request_data)
    assert form.is_valid()
    with publishing_to(settings.CELERY_BROKER_URL):
        ticket = assistance_request_submit(data=form.cleaned_data, source=Source.API).ticket

    if not wait_for(lambda: len(smtp_sink.messages) >= 1):
        pytest.fail("no e-mail arrived; worker output:\n" + worker.output())
    [message] = smtp_sink.messages
    assert ticket.reference.encode() in message
    assert b"claire.dupont@exemple.fr" in message
    assert wait_for(
        lambda: OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 1, timeout=10
    )
    assert ticket.events.filter(kind=EventKind.EMAIL_SENT).count() == 1
    time.sleep(1)
    assert len(smtp_sink.messages) == 1  # exactly once
