"""The outbox: queue jobs (e-mails, and the kinds apps register) inside a transaction, run
them from the worker, exactly once.

* ``email_queue`` / ``job_queue`` write the row in the caller's transaction and hand its id
  to the broker on commit; a broker that is down only delays it until the next sweep.
* ``email_deliver`` / ``job_run`` (the worker) claim the row with a conditional UPDATE, so
  two workers given the same id cannot both run it, and a row already done is left alone.
  Transient failures are retried with exponential backoff, up to
  ``EMAIL_MAX_ATTEMPTS``; then the job is marked failed.
* ``outbox_sweep`` (beat) hands over what the broker never got or lost, gives the rows a
  dead worker left half-done to another worker, and forgets finished jobs of the kinds
  that are not kept.

This module imports no domain app: what a job needs from an app goes through the hooks
that app registered (``worker.hooks``).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from . import context as log_context
from . import hooks, metrics
from .models import EMAIL, EmailStatus, OutboundEmail, OutboxJob

logger = logging.getLogger(__name__)

# Counted in the transaction that marks the row, so the figures are exact.
EMAILS_SENT = metrics.counter(
    "apsupport_emails_sent",
    "E-mails accepted by the SMTP server, by template.",
    labels=("template",),
)
EMAILS_FAILED = metrics.counter(
    "apsupport_emails_failed",
    "E-mails given up after EMAIL_MAX_ATTEMPTS tries, by template.",
    labels=("template",),
)

# A worker that dies in the middle of a job leaves its row "sending"; after this long
# (settings.EMAIL_CLAIM_TIMEOUT_SECONDS) the sweep gives the row to another worker.
# A pending row that was handed to the broker this long ago without being picked up is
# handed over again (the broker may have lost it).
REENQUEUE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, TimeoutError)
# Errors of a non-email job that are worth another try (the job's transaction rolled back).
TRANSIENT_JOB_ERRORS = (*TRANSIENT_ERRORS, DatabaseError)


def _enqueue(job_id: int, kind: str) -> None:
    """Hand one job to the broker. Never raises: a broker that is down only delays the job
    until the next sweep.

    The row must carry its ``enqueued_at`` stamp before publishing (``job_queue`` writes it
    with the row; the sweep stamps it before calling this): a worker may pick the task up,
    and even record a failure that clears the stamp, before ``delay`` returns here.
    """
    # Local: tasks.py imports this module (the tasks call the services).
    from .tasks import run_job, send_email

    task = send_email if kind == EMAIL else run_job
    try:
        task.delay(job_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep will retry.
        logger.warning(
            "Broker unavailable (%s); outbox job %s stays in the outbox.",
            type(exc).__name__,
            job_id,
        )
        OutboxJob.objects.filter(pk=job_id, status=EmailStatus.PENDING).update(enqueued_at=None)


def job_queue(*, kind: str, payload: dict, ticket_id: int | None = None) -> OutboxJob:
    """Record a job of a registered kind, run by the worker once the current transaction
    commits."""
    hooks.job_handler(kind)  # fail now, not in the worker, on an unknown kind
    now = timezone.now()
    job = OutboxJob.objects.create(
        kind=kind,
        context=payload,
        ticket_id=ticket_id,
        next_attempt_at=now,
        enqueued_at=now,
        request_id=log_context.request_id() or "",
    )
    transaction.on_commit(lambda: _enqueue(job.pk, kind))
    return job


def email_queue(
    *, template: str, to_email: str, context: dict, ticket_id: int | None = None
) -> OutboundEmail:
    """Record an e-mail to send once the current transaction commits."""
    now = timezone.now()
    # Stamped as handed over already: the hand-over happens on commit. If the process
    # dies between commit and publish, the sweep hands it over after REENQUEUE_AFTER.
    email = OutboundEmail.objects.create(
        template=template,
        to_email=to_email,
        context=context,
        ticket_id=ticket_id,
        next_attempt_at=now,
        enqueued_at=now,
        request_id=log_context.request_id() or "",
    )
    transaction.on_commit(lambda: _enqueue(email.pk, EMAIL))
    return email


def _claim(job_id: int, kind_q: Q) -> bool:
    now = timezone.now()
    return bool(
        OutboxJob.objects.filter(
            kind_q, pk=job_id, status=EmailStatus.PENDING, next_attempt_at__lte=now
        ).update(status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _secret_link_context(email: OutboxJob) -> dict | None:
    """E-mails that carry a secret link (recovery, activation, objection) have its token
    drawn now, at send time, by the app that owns the link, so the token exists in the
    message only and never in the outbox row. None: the link lost its object, the e-mail
    is not sent."""
    spec = email.context.get("secret_link")
    if not spec:
        return {}
    return hooks.link_issuer(spec["kind"]).issue(spec)


def _render(email: OutboxJob, extra: dict | None = None) -> EmailMessage:
    context = {**email.context, **(extra or {}), "site_base_url": settings.SITE_BASE_URL}
    # The "emails" engine does not escape HTML: these are text/plain messages.
    subject = render_to_string(f"emails/{email.template}_subject.txt", context, using="emails")
    body = render_to_string(f"emails/{email.template}_body.txt", context, using="emails")
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to_email],
        headers={"Auto-Submitted": "auto-generated", "X-Outbox-Id": str(email.pk)},
    )


def _backoff(attempts: int) -> timedelta:
    # 1, 2, 4, 8 ... minutes, capped at an hour.
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def email_deliver(*, email_id: int) -> bool:
    """Send one outbox e-mail if it is due. Returns True when it was sent by this call."""
    if not _claim(email_id, Q(kind=EMAIL)):
        return False
    email = OutboxJob.objects.get(pk=email_id)
    # The log lines of this send carry the id of the request that queued the e-mail, even
    # when it is a retry handed over by beat's sweep.
    token = log_context.bind_request_id(email.request_id or log_context.request_id())
    try:
        return _deliver(email)
    finally:
        log_context.reset_request_id(token)


def _deliver(email: OutboxJob) -> bool:
    extra = _secret_link_context(email)
    if extra is None:
        OutboxJob.objects.filter(pk=email.pk).update(
            status=EmailStatus.CANCELLED, last_error="Lien devenu sans objet avant l'envoi."
        )
        logger.info("E-mail %s (%s) cancelled: its link lost its object.", email.pk, email.template)
        return False
    try:
        message = _render(email, extra)
        message.send(fail_silently=False)
    except TRANSIENT_ERRORS as exc:
        _record_failure(email, exc)
        return False
    with transaction.atomic():
        OutboxJob.objects.filter(pk=email.pk).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        spec = email.context.get("secret_link")
        if spec:
            issuer = hooks.link_issuer(spec["kind"])
            if issuer.sent is not None:
                issuer.sent(spec)
        hooks.email_sent.send(sender=OutboxJob, email=email)
        metrics.inc(EMAILS_SENT, template=email.template)
    logger.info("E-mail %s (%s) sent.", email.pk, email.template)
    return True


def job_run(*, job_id: int) -> bool:
    """Run one outbox job of a registered kind if it is due. Returns True when this call
    ran it. The handler and the "done" stamp share one transaction: a handler that fails
    leaves nothing behind, and the job is tried again later."""
    if not _claim(job_id, ~Q(kind=EMAIL)):
        return False
    job = OutboxJob.objects.get(pk=job_id)
    token = log_context.bind_request_id(job.request_id or log_context.request_id())
    try:
        return _run(job)
    finally:
        log_context.reset_request_id(token)


def _run(job: OutboxJob) -> bool:
    handler = hooks.job_handler(job.kind)
    try:
        with transaction.atomic():
            handler.run(job)
            OutboxJob.objects.filter(pk=job.pk).update(
                status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
            )
    except TRANSIENT_JOB_ERRORS as exc:
        _record_failure(job, exc)
        return False
    return True


def _record_failure(job: OutboxJob, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    final = job.attempts >= settings.EMAIL_MAX_ATTEMPTS
    with transaction.atomic():
        if final:
            OutboxJob.objects.filter(pk=job.pk).update(status=EmailStatus.FAILED, last_error=error)
        else:
            OutboxJob.objects.filter(pk=job.pk).update(
                status=EmailStatus.PENDING,
                last_error=error,
                next_attempt_at=timezone.now() + _backoff(job.attempts),
                enqueued_at=None,
            )
        if final and job.is_email:
            hooks.email_failed.send(sender=OutboxJob, email=job, error=error)
            metrics.inc(EMAILS_FAILED, template=job.template)
    logger.warning(
        "Outbox job %s (%s) failed, attempt %s%s: %s",
        job.pk,
        job.template or job.kind,
        job.attempts,
        " (giving up)" if final else "",
        type(exc).__name__,
    )


def outbox_sweep() -> int:
    """Hand due jobs to the broker: those never handed over (broker down at commit), those
    whose retry time came, and those a dead worker left half-done; forget finished jobs of
    the kinds not kept. Returns how many were handed over."""
    now = timezone.now()
    OutboxJob.objects.filter(
        status=EmailStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT_SECONDS),
    ).update(status=EmailStatus.PENDING, enqueued_at=None)
    due = list(
        OutboxJob.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
        .order_by("next_attempt_at")
        .values_list("pk", "kind")[:SWEEP_BATCH]
    )
    for job_id, kind in due:
        OutboxJob.objects.filter(pk=job_id).update(enqueued_at=now)
        _enqueue(job_id, kind)
    _forget_finished(now)
    return len(due)


def _forget_finished(now: Any) -> None:
    for handler in hooks.job_handlers():
        if handler.retain is None:
            continue
        old = list(
            OutboxJob.objects.filter(
                kind=handler.kind,
                status__in=[EmailStatus.SENT, EmailStatus.CANCELLED, EmailStatus.FAILED],
                created_at__lt=now - handler.retain,
            ).values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if old:
            OutboxJob.objects.filter(pk__in=old).delete()
