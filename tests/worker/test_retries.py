"""E-mail and job tasks retry transient errors with exponential backoff and a cap, and
never send a message twice: database errors are retried by the task (resuming from where
it stopped), SMTP 4xx answers and lost connections go back to the outbox with their own
backoff, SMTP 5xx answers are final at once."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from unittest import mock

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import TicketFactory
from tests.worker.test_outbox import queue_one
from tickets.models import EventKind
from worker import services, tasks
from worker.models import EmailStatus, OutboxJob

pytestmark = pytest.mark.django_db


def failing_once(target, real):
    """A stand-in for ``real`` whose first call raises a database error."""
    calls = {"n": 0}

    def call(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    return mock.patch(target, side_effect=call), calls


def test_the_retry_delay_doubles_from_two_seconds_and_is_capped_at_a_minute():
    with mock.patch("worker.tasks.random.uniform", return_value=0.0):
        assert [tasks.retry_delay(n) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]
    with mock.patch("worker.tasks.random.uniform", return_value=0.2):
        assert tasks.retry_delay(10) == pytest.approx(72.0)  # at most 20 % of jitter


def test_a_database_error_on_the_claim_is_retried_and_the_email_sent_once():
    email = queue_one()
    patcher, calls = failing_once("worker.services._claim", services._claim)
    with patcher, mock.patch.object(tasks.send_email, "retry", wraps=tasks.send_email.retry) as r:
        tasks.send_email.apply(args=(email.pk,), throw=False)
    assert calls["n"] == 2
    assert r.call_args.kwargs["countdown"] >= 2
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_a_database_error_before_sending_resumes_the_same_claim_and_sends_once():
    email = queue_one()
    patcher, calls = failing_once("worker.services._render", services._render)
    with patcher:
        tasks.send_email.apply(args=(email.pk,), throw=False)
    assert calls["n"] == 2
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    # One attempt: the resume took the row back under its claim, it did not claim again.
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_a_database_error_after_the_smtp_server_accepted_only_records_it_as_sent():
    ticket = TicketFactory()
    email = queue_one(ticket)
    patcher, calls = failing_once("worker.services._mark_sent", services._mark_sent)
    with patcher:
        tasks.send_email.apply(args=(email.pk,), throw=False)
    assert calls["n"] == 2
    assert len(mail.outbox) == 1  # never sent twice
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert ticket.events.filter(kind=EventKind.EMAIL_SENT).count() == 1


def test_a_resume_does_nothing_once_another_worker_took_the_row():
    email = queue_one()
    claimed_at = services._claim(email.pk, services.Q(kind="email"))
    resume = {"claimed_at": claimed_at.isoformat(), "sent": False}
    # The claim timed out and another worker claimed the row (a new stamp).
    OutboxJob.objects.filter(pk=email.pk).update(claimed_at=claimed_at + timedelta(minutes=11))
    assert services.email_deliver(email_id=email.pk, resume=resume) is False
    assert services.email_deliver(email_id=email.pk, resume={**resume, "sent": True}) is False
    assert mail.outbox == []
    email.refresh_from_db()
    assert email.status == EmailStatus.SENDING


def test_a_database_that_stays_down_is_retried_up_to_the_cap_then_left_to_the_sweep():
    email = queue_one()
    down = mock.patch(
        "worker.services._render", side_effect=OperationalError("could not connect to server")
    )
    # The last allowed try (Celery counts the retries in the request): no further retry,
    # the error is raised.
    with down, pytest.raises(services.DeliveryInterrupted):
        tasks.send_email.apply(args=(email.pk,), retries=tasks.RETRY_MAX, throw=True)
    assert mail.outbox == []
    email.refresh_from_db()
    assert email.status == EmailStatus.SENDING  # claimed: the sweep hands it over later
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        assert services.outbox_sweep() == 1
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT


def test_a_job_whose_failure_cannot_be_recorded_is_resumed_by_the_task():
    from accounts.extranet.links import RECOVERY_REQUEST_JOB
    from accounts.extranet.models import RecoveryLink
    from tests.factories import ExtranetAccountFactory

    account = ExtranetAccountFactory()
    job = OutboxJob.objects.create(
        kind=RECOVERY_REQUEST_JOB,
        context={"purpose": "password", "lookup": account.identifiant},
        next_attempt_at=timezone.now(),
    )
    handler_calls = {"n": 0}
    real_record = services._record_failure

    def record_failure(*args, **kwargs):
        if handler_calls["n"] == 1:
            raise OperationalError("still down")
        return real_record(*args, **kwargs)

    from accounts.extranet import links

    real_check = links._over_account_limit

    def check(**kwargs):
        handler_calls["n"] += 1
        if handler_calls["n"] == 1:
            raise OperationalError("connection lost")
        return real_check(**kwargs)

    with (
        mock.patch("accounts.extranet.links._over_account_limit", side_effect=check),
        mock.patch("worker.services._record_failure", side_effect=record_failure),
    ):
        tasks.run_job.apply(args=(job.pk,), throw=False)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (EmailStatus.SENT, 1)
    assert handler_calls["n"] == 2
    # The first run's transaction rolled back: one link, from the resumed run.
    assert RecoveryLink.objects.filter(account=account).count() == 1


# --- Against a real SMTP server (aiosmtpd, on 127.0.0.1) ---------------------------------


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return smtp_sink


def test_a_451_is_retried_with_backoff_and_the_message_arrives_once(smtp_settings):
    sink = smtp_settings
    sink.mode = "refuse"
    with freeze_time("2026-05-04 10:00:00"):
        email = queue_one()
        tasks.send_email.apply(args=(email.pk,), throw=False)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert "451" in email.last_error
    assert sink.messages == []
    sink.mode = "accept"
    with freeze_time("2026-05-04 10:00:59"):
        assert services.outbox_sweep() == 0  # the backoff: one minute
    with freeze_time("2026-05-04 10:01:00"):
        assert services.outbox_sweep() == 1
        assert services.outbox_sweep() == 0
    assert len(sink.messages) == 1
    assert message_from_bytes(sink.messages[0])["X-Outbox-Id"] == str(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)


def test_a_550_is_final_at_once(smtp_settings):
    sink = smtp_settings
    sink.mode = "reject"
    ticket = TicketFactory()
    email = queue_one(ticket)
    tasks.send_email.apply(args=(email.pk,), throw=False)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 1)
    assert "550" in email.last_error
    assert ticket.events.filter(kind=EventKind.EMAIL_FAILED).count() == 1
    with freeze_time(timezone.now() + timedelta(hours=2)):
        assert services.outbox_sweep() == 0
    assert sink.attempts == 1


def test_smtp_answers_are_sorted_into_permanent_and_transient():
    import smtplib

    assert services.smtp_error_is_permanent(smtplib.SMTPDataError(550, b"no"))
    assert not services.smtp_error_is_permanent(smtplib.SMTPDataError(451, b"later"))
    assert not services.smtp_error_is_permanent(smtplib.SMTPServerDisconnected("lost"))
    assert services.smtp_error_is_permanent(
        smtplib.SMTPRecipientsRefused({"a@exemple.fr": (550, b"unknown")})
    )
    assert not services.smtp_error_is_permanent(
        smtplib.SMTPRecipientsRefused({"a@exemple.fr": (550, b"x"), "b@exemple.fr": (452, b"y")})
    )
