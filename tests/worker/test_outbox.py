"""The e-mail outbox: nothing lost when the broker is down, nothing sent twice, SMTP
failures retried with backoff and then shown on the ticket."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from tests.factories import TicketFactory
from tickets.models import EventKind
from worker import services
from worker.models import EmailStatus, OutboundEmail

pytestmark = pytest.mark.django_db


def queue_one(ticket=None) -> OutboundEmail:
    ticket = ticket or TicketFactory()
    return services.email_queue(
        template="ticket_acknowledgement",
        to_email=ticket.email,
        ticket_id=ticket.pk,
        context={
            "reference": ticket.reference,
            "requester_name": "Claire",
            "motif": "Autres",
            "siret": ticket.siret,
            "attached": False,
        },
    )


def test_an_email_queued_while_the_broker_is_down_is_sent_once_by_the_sweep(
    django_capture_on_commit_callbacks,
):
    with mock.patch(
        "worker.tasks.send_email.delay", side_effect=OperationalError("Connection refused")
    ):
        with django_capture_on_commit_callbacks(execute=True):
            email = queue_one()
    email.refresh_from_db()
    assert email.status == EmailStatus.PENDING
    assert email.enqueued_at is None
    assert mail.outbox == []

    # The broker is back: the next sweep hands it over (the task runs inline in tests).
    assert services.outbox_sweep() == 1
    assert len(mail.outbox) == 1
    # Further sweeps find nothing to do.
    assert services.outbox_sweep() == 0
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT


def test_delivering_twice_sends_once(django_capture_on_commit_callbacks):
    email = queue_one()  # on_commit not run: nothing handed over yet
    assert services.email_deliver(email_id=email.pk) is True
    assert services.email_deliver(email_id=email.pk) is False
    assert len(mail.outbox) == 1


def test_a_row_being_sent_by_another_worker_is_not_sent_again():
    email = queue_one()
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENDING, claimed_at=timezone.now()
    )
    assert services.email_deliver(email_id=email.pk) is False
    assert services.outbox_sweep() == 0
    assert mail.outbox == []


def test_a_row_left_half_sent_by_a_dead_worker_is_retried_after_the_claim_expires():
    with freeze_time("2026-05-04 10:00:00"):
        email = queue_one()
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=EmailStatus.SENDING, claimed_at=timezone.now()
        )
    with freeze_time("2026-05-04 10:09:00"):
        assert services.outbox_sweep() == 0
    with freeze_time("2026-05-04 10:11:00"):
        assert services.outbox_sweep() == 1
    assert len(mail.outbox) == 1


def test_smtp_failures_are_retried_with_backoff_then_shown_as_failed(settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    ticket = TicketFactory()
    with freeze_time("2026-05-04 10:00:00"):
        email = queue_one(ticket)
    refusing = mock.patch(
        "django.core.mail.EmailMessage.send",
        side_effect=smtplib.SMTPServerDisconnected("refused"),
    )
    with refusing, freeze_time("2026-05-04 10:00:00"):
        assert services.email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == EmailStatus.PENDING
    assert email.attempts == 1
    assert email.next_attempt_at == timezone.now().replace(
        year=2026, month=5, day=4, hour=10, minute=1, second=0, microsecond=0
    )
    assert "SMTPServerDisconnected" in email.last_error

    with refusing, freeze_time("2026-05-04 10:00:30"):
        assert services.outbox_sweep() == 0  # not due yet
    with refusing, freeze_time("2026-05-04 10:01:00"):
        assert services.outbox_sweep() == 1  # second attempt, fails: next in 2 minutes
    email.refresh_from_db()
    assert (email.attempts, email.status) == (2, EmailStatus.PENDING)
    with refusing, freeze_time("2026-05-04 10:03:00"):
        assert services.outbox_sweep() == 1  # third and last attempt
    email.refresh_from_db()
    assert (email.attempts, email.status) == (3, EmailStatus.FAILED)
    failed = ticket.events.get(kind=EventKind.EMAIL_FAILED)
    assert failed.data["template"] == "ticket_acknowledgement"
    assert "SMTPServerDisconnected" in failed.data["error"]
    with freeze_time("2026-05-04 12:00:00"):
        assert services.outbox_sweep() == 0
    assert mail.outbox == []


def test_the_backoff_doubles_and_is_capped():
    assert [services._backoff(n) for n in (1, 2, 3, 4, 8)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=60),
    ]


def test_two_sweeps_at_once_hand_each_job_over_once():
    """A second beat started by mistake: its sweep runs while the first one is handing
    jobs over. Each job still goes to the broker once (tests/ops/test_several_nodes.py
    shows the same with two real beats)."""
    emails = [queue_one() for _ in range(3)]  # on_commit not run: never handed over
    OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).update(enqueued_at=None)
    handed_over: list[int] = []
    nested: list[int] = []
    started = []

    def enqueue(job_id, kind):
        handed_over.append(job_id)
        if not started:  # the other beat's sweep starts now, between two hand-overs
            started.append(True)
            nested.append(services.outbox_sweep())

    with mock.patch("worker.services._enqueue", side_effect=enqueue):
        first = services.outbox_sweep()
    assert sorted(handed_over) == sorted(e.pk for e in emails)
    assert first + nested[0] == 3
