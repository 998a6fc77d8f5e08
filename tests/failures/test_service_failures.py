"""Failures of real services (CI's second pass): Redis stopped while requests come in, a
worker killed in the middle of a send, an SMTP server refusing. Nothing is lost, nothing
is sent twice. The Redis stopped here is our own process, never the shared one."""

from __future__ import annotations

import json
import smtplib
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.staff.services import api_key_create
from tests.support.services import publishing_to, wait_for
from tickets.models import EventKind, Ticket
from worker import services
from worker.models import EmailStatus, OutboundEmail

# serialized_rollback: see tests/failures/test_database_errors.py.
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def post_request(client, key, data, n):
    body = {**data, "email": f"demandeur{n}@exemple.fr"}
    return client.post(
        "/api/v1/assistance-requests",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )


def test_redis_down_while_requests_come_in_loses_nothing_and_sends_once(
    client,
    own_redis,
    smtp_sink,
    start_worker,
    valid_request_data,
):
    key = api_key_create(name="extranet")[1]
    worker = start_worker(broker_url=own_redis.url, smtp_port=smtp_sink.port)
    with publishing_to(own_redis.url):
        own_redis.stop()
        started = time.monotonic()
        responses = [post_request(client, key, valid_request_data, n) for n in range(3)]
        elapsed = time.monotonic() - started
        # The requests succeed, quickly, although the broker is gone.
        assert [r.status_code for r in responses] == [201, 201, 201]
        assert elapsed < 15
        assert (
            OutboundEmail.objects.filter(
                status=EmailStatus.PENDING, enqueued_at__isnull=True
            ).count()
            == 3
        )

        own_redis.start()  # same port: Redis is back
        handed_over = services.outbox_sweep()  # what beat runs every 30 s
        assert handed_over == 3
        if not wait_for(lambda: len(smtp_sink.messages) == 3, timeout=60):
            pytest.fail("e-mails missing; worker output:\n" + worker.output())
        services.outbox_sweep()  # a second sweep must not resend anything
        time.sleep(2)
    references = sorted(Ticket.objects.values_list("reference", flat=True))
    assert len(smtp_sink.messages) == 3
    for reference in references:
        assert sum(reference.encode() in m for m in smtp_sink.messages) == 1
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 3


def test_a_worker_killed_in_the_middle_of_a_send_loses_nothing_and_sends_once(
    settings,
    own_redis,
    smtp_sink,
    start_worker,
    valid_request_data,
):
    from tests.support.intake import submit

    settings.EMAIL_CLAIM_TIMEOUT_SECONDS = 3
    smtp_sink.mode, smtp_sink.delay = "slow", 30  # the send hangs in DATA
    first = start_worker(
        broker_url=own_redis.url, smtp_port=smtp_sink.port, extra_env={"EMAIL_TIMEOUT": "60"}
    )
    with publishing_to(own_redis.url):
        ticket = submit(valid_request_data).ticket
        email = OutboundEmail.objects.get()
        assert wait_for(lambda: smtp_sink.attempts == 1, timeout=60), first.output()
        first.kill()  # SIGKILL in the middle of the SMTP conversation
        email.refresh_from_db()
        assert email.status == EmailStatus.SENDING
        assert smtp_sink.messages == []

        smtp_sink.mode = "accept"
        start_worker(broker_url=own_redis.url, smtp_port=smtp_sink.port)
        assert services.outbox_sweep() == 0  # the claim is still fresh
        time.sleep(3.5)
        assert services.outbox_sweep() == 1  # claim expired: handed to the new worker
        assert wait_for(lambda: len(smtp_sink.messages) == 1, timeout=60)
        time.sleep(2)
        services.outbox_sweep()
    assert len(smtp_sink.messages) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert email.attempts == 2
    assert ticket.reference.encode() in smtp_sink.messages[0]


def test_an_smtp_server_refusing_is_retried_then_shown_as_failed(
    settings,
    smtp_sink,
    valid_request_data,
):
    from tests.support.intake import submit

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_MAX_ATTEMPTS = 3
    smtp_sink.mode = "refuse"
    with publishing_to("memory://"):  # keep the task off the shared broker: we drive it
        ticket = submit(valid_request_data).ticket
    email = OutboundEmail.objects.get()
    now = timezone.now()
    for attempt in range(1, 4):
        OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=now)
        assert services.email_deliver(email_id=email.pk) is False
        email.refresh_from_db()
        assert email.attempts == attempt
        assert "SMTPDataError" in email.last_error or "451" in email.last_error
    assert email.status == EmailStatus.FAILED
    assert smtp_sink.attempts == 3
    failed = ticket.events.get(kind=EventKind.EMAIL_FAILED)
    assert "451" in failed.data["error"]
    # Back-off between attempts grew: 1, then 2 minutes.
    assert services._backoff(1) == timedelta(minutes=1)
    assert smtplib  # the refusal went through a real SMTP conversation
