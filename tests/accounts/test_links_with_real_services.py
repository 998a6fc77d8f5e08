"""Recovery links against real PostgreSQL, Redis and a real worker process (CI's second
pass): single use under concurrency, a link sent by the worker and expired by the sweep,
and a request made while the broker is unreachable sent exactly once when it is back."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from accounts.extranet.exceptions import LinkInvalid
from accounts.extranet.links import (
    RECOVERY_REQUEST_JOB,
    recovery_link_create,
    recovery_link_use,
    recovery_request_record,
    token_digest,
)
from accounts.extranet.models import LinkPurpose, RecoveryLink
from accounts.extranet.tasks import recovery_links_expire_sweep
from tests.accounts.helpers import LINK_RE
from tests.factories import ExtranetAccountFactory
from tests.support.services import free_port, publishing_to, wait_for
from worker.models import OutboxJob
from worker.tasks import outbox_sweep

# serialized_rollback: the data migrations' rows (queues, routing rules) come back after
# the flush that ends each transactional test.
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def body_of(raw: bytes) -> str:
    message = message_from_bytes(raw)
    payload = message.get_payload(decode=True)
    return payload.decode() if payload else str(message.get_payload())


def test_two_simultaneous_uses_of_one_link_only_one_wins(django_capture_on_commit_callbacks):
    from django.core import mail

    account = ExtranetAccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        recovery_link_create(
            account=account, purpose=LinkPurpose.PASSWORD_RESET, template="extranet_password_reset"
        )
    [(_url, token)] = LINK_RE.findall(mail.outbox[-1].body)
    digest = token_digest(token)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use(password):
        try:
            barrier.wait(timeout=10)
            recovery_link_use(
                purpose=LinkPurpose.PASSWORD_RESET, token_hash=digest, new_password=password
            )
            outcomes.append(password)
        except LinkInvalid:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=use, args=(f"Mot-de-passe-fil-{i}-2026",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=lambda o: o == "refused")[1] == "refused"
    assert outcomes.count("refused") == 1
    winner = next(o for o in outcomes if o != "refused")
    account.refresh_from_db()
    assert account.check_password(winner)
    assert RecoveryLink.objects.get().used_at is not None


def test_the_worker_sends_a_link_and_the_sweep_expires_it(smtp_sink, start_worker):
    sink = smtp_sink
    worker = start_worker(broker_url=settings.CELERY_BROKER_URL, smtp_port=sink.port)
    account = ExtranetAccountFactory(holder_email="titulaire@exemple.fr")
    with publishing_to(settings.CELERY_BROKER_URL):
        recovery_request_record(
            purpose="password", lookup=account.identifiant, requested_ip_hash=""
        )
        if not wait_for(lambda: len(sink.messages) >= 1):
            pytest.fail("no e-mail arrived; worker output:\n" + worker.output())
        token = _check_link_then_expire(sink)
    # The worker's log (Celery and ours, read back from its file) never holds the token.
    worker.stop()
    assert "sent" in worker.log.read_text()
    assert token not in worker.log.read_text()


def _check_link_then_expire(sink) -> str:
    [raw] = sink.messages
    assert message_from_bytes(raw)["To"] == "titulaire@exemple.fr"
    [(_url, token)] = LINK_RE.findall(body_of(raw))
    link = RecoveryLink.objects.get()
    assert wait_for(lambda: RecoveryLink.objects.get().sent_at is not None, timeout=10)
    assert link.token_hash == token_digest(token)

    RecoveryLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timezone.timedelta(seconds=1)
    )
    recovery_links_expire_sweep.delay()
    assert wait_for(lambda: RecoveryLink.objects.get().expired_recorded_at is not None, timeout=30)
    time.sleep(1)
    assert len(sink.messages) == 1
    return token


def test_a_request_made_while_the_broker_is_unreachable_goes_out_exactly_once(
    smtp_sink,
    start_worker,
):
    sink = smtp_sink
    start_worker(broker_url=settings.CELERY_BROKER_URL, smtp_port=sink.port)
    account = ExtranetAccountFactory(holder_email="titulaire@exemple.fr")
    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):  # a closed port: Redis down
        started = time.monotonic()
        recovery_request_record(
            purpose="password", lookup=account.identifiant, requested_ip_hash=""
        )
        assert time.monotonic() - started < 10  # the web request does not hang
    request = OutboxJob.objects.get(kind=RECOVERY_REQUEST_JOB)
    assert request.enqueued_at is None and request.status == "pending"
    time.sleep(2)
    assert sink.messages == []

    # The broker is back: beat's sweep (run here) hands the request over.
    with publishing_to(settings.CELERY_BROKER_URL):
        outbox_sweep.delay()
        assert wait_for(lambda: len(sink.messages) >= 1)
        outbox_sweep.delay()
        time.sleep(3)
    assert len(sink.messages) == 1
    assert OutboxJob.objects.get(kind=RECOVERY_REQUEST_JOB).status == "sent"
    assert RecoveryLink.objects.count() == 1
    connection.close()


def test_the_per_account_limit_holds_when_eight_workers_handle_requests_at_once(settings):
    """Eight "J'ai oublié mon mot de passe" requests for one account, handled at the same
    moment by eight threads (each its own PostgreSQL connection, as eight workers would):
    the count and the new link happen under the account's row lock, so exactly
    RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR (5) links are issued, never 6."""
    from worker import services as outbox

    assert settings.RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR == 5
    account = ExtranetAccountFactory()
    now = timezone.now()
    jobs = [
        OutboxJob.objects.create(
            kind=RECOVERY_REQUEST_JOB,
            context={"purpose": "password", "lookup": account.identifiant},
            next_attempt_at=now,
        ).pk
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def handle(job_id):
        try:
            barrier.wait(timeout=10)
            outbox.job_run(job_id=job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=handle, args=(job_id,)) for job_id in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert OutboxJob.objects.filter(pk__in=jobs, status="sent").count() == 8
    assert RecoveryLink.objects.filter(account=account).count() == 5
