"""The outbox: queue jobs (e-mails, and the kinds apps register) inside a transaction, run
them from the worker, exactly once.

* ``email_queue`` / ``job_queue`` write the row in the caller's transaction and hand its id
  to the broker on commit; a broker that is down only delays it until the next sweep.
* ``email_deliver`` / ``job_run`` (the worker) claim the row with a conditional UPDATE, so
  two workers given the same id cannot both run it, and a row already done is left alone.
  Transient failures are retried with exponential backoff, up to
  ``EMAIL_MAX_ATTEMPTS``; then the job is marked failed. A permanent SMTP refusal (5xx)
  is not retried.
* A database error in the middle of a job (the row claimed, or the message already
  accepted by the SMTP server) raises ``DeliveryInterrupted``: the task retries it with a
  short exponential backoff (``worker.tasks``), resuming from where it stopped. A resume
  takes the row back only while it still carries this attempt's claim stamp, and a message
  the SMTP server accepted is never sent again: the resume only records it as sent.
* ``outbox_sweep`` (beat) hands over what the broker never got or lost, gives the rows a
  dead worker left half-done to another worker, and forgets finished jobs of the kinds
  that are not kept.

This module imports no domain app: what a job needs from an app goes through the hooks
that app registered (``worker.hooks``).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from . import context as log_context
from . import hooks, metrics
from .models import EMAIL, EmailStatus, OutboundEmail, OutboxJob
from .rows import row_insert

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
SWEEP_BATCH = 500
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, TimeoutError)
# Errors of a non-email job that are worth another try (the job's transaction rolled back).
TRANSIENT_JOB_ERRORS = (*TRANSIENT_ERRORS, DatabaseError)


class DeliveryInterrupted(Exception):
    """A database error stopped a job this worker had claimed. ``resume`` is what the
    retried task needs to go on: the claim's stamp (``claimed_at``, ISO 8601) and whether
    the SMTP server had accepted the message (``sent``)."""

    def __init__(self, resume: dict[str, Any]):
        super().__init__(f"interrupted ({'after' if resume['sent'] else 'before'} sending)")
        self.resume = resume


def smtp_error_is_permanent(exc: BaseException) -> bool:
    """A 5xx answer (unknown mailbox, message refused) will not change on a retry; 4xx
    answers, lost connections and timeouts may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


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
    """Record an e-mail to send once the current transaction commits; returns its outbox
    row (as stored).

    One precompiled INSERT (``worker.rows``): every new request, reply and link queues
    one, and the ORM's ``create`` cost more CPU than the statement. Stamped as handed over
    already: the hand-over happens on commit. If the process dies between commit and
    publish, the sweep hands it over after OUTBOX_REENQUEUE_AFTER_SECONDS."""
    now = timezone.now()
    values = {
        "kind": EMAIL,
        "template": template,
        "to_email": to_email,
        "context": context,
        "ticket_id": ticket_id,
        "next_attempt_at": now,
        "enqueued_at": now,
        "created_at": now,
        "request_id": log_context.request_id() or "",
    }
    email = OutboundEmail(id=row_insert(OutboxJob, values), **values)
    email._state.adding = False
    email._state.db = connection.alias
    transaction.on_commit(lambda: _enqueue(email.pk, EMAIL))
    return email


def _claim(job_id: int, kind_q: Q, resume: dict[str, Any] | None = None) -> datetime | None:
    """Claim a due row (conditional UPDATE: of two workers, one wins). With ``resume``,
    take back a row this task had claimed before a database error: only while it still
    carries that claim's stamp (nobody else took it since). Returns the new stamp."""
    now = timezone.now()
    if resume is not None:
        rows = OutboxJob.objects.filter(
            kind_q,
            pk=job_id,
            status=EmailStatus.SENDING,
            claimed_at=datetime.fromisoformat(resume["claimed_at"]),
        ).update(claimed_at=now)
    else:
        rows = OutboxJob.objects.filter(
            kind_q, pk=job_id, status=EmailStatus.PENDING, next_attempt_at__lte=now
        ).update(status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    return now if rows else None


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


def email_deliver(*, email_id: int, resume: dict[str, Any] | None = None) -> bool:
    """Send one outbox e-mail if it is due. Returns True when it was sent by this call.

    ``resume`` (from ``DeliveryInterrupted``): go on with a send a database error stopped.
    """
    if resume is not None and resume["sent"]:
        # The SMTP server has the message: only its "sent" state is left to record.
        return _mark_sent_after_interruption(email_id, resume)
    claimed_at = _claim(email_id, Q(kind=EMAIL), resume)
    if claimed_at is None:
        return False
    try:
        email = OutboxJob.objects.get(pk=email_id)
    except DatabaseError as exc:
        raise DeliveryInterrupted(_resume(claimed_at, sent=False)) from exc
    # The log lines of this send carry the id of the request that queued the e-mail, even
    # when it is a retry handed over by beat's sweep.
    token = log_context.bind_request_id(email.request_id or log_context.request_id())
    try:
        return _deliver(email, claimed_at)
    finally:
        log_context.reset_request_id(token)


def _resume(claimed_at: datetime, *, sent: bool) -> dict[str, Any]:
    return {"claimed_at": claimed_at.isoformat(), "sent": sent}


def _deliver(email: OutboxJob, claimed_at: datetime) -> bool:
    try:
        extra = _secret_link_context(email)
        if extra is None:
            OutboxJob.objects.filter(pk=email.pk).update(
                status=EmailStatus.CANCELLED, last_error="Lien devenu sans objet avant l'envoi."
            )
            logger.info(
                "E-mail %s (%s) cancelled: its link lost its object.", email.pk, email.template
            )
            return False
        message = _render(email, extra)
    except DatabaseError as exc:
        raise DeliveryInterrupted(_resume(claimed_at, sent=False)) from exc
    try:
        message.send(fail_silently=False)
    except TRANSIENT_ERRORS as exc:
        try:
            _record_failure(email, exc, permanent=smtp_error_is_permanent(exc))
        except DatabaseError as db_exc:
            # Nothing left: the next try sends it (still claimed by this task).
            raise DeliveryInterrupted(_resume(claimed_at, sent=False)) from db_exc
        return False
    try:
        _mark_sent(email)
    except DatabaseError as exc:
        raise DeliveryInterrupted(_resume(claimed_at, sent=True)) from exc
    logger.info("E-mail %s (%s) sent.", email.pk, email.template)
    return True


def _mark_sent(email: OutboxJob) -> bool:
    """Record the SMTP server's acceptance (one transaction). False when the row is no
    longer this task's (another worker took it after the claim timeout)."""
    with transaction.atomic():
        rows = OutboxJob.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        if not rows:
            return False
        spec = email.context.get("secret_link")
        if spec:
            issuer = hooks.link_issuer(spec["kind"])
            if issuer.sent is not None:
                issuer.sent(spec)
        hooks.email_sent.send(sender=OutboxJob, email=email)
        metrics.inc(EMAILS_SENT, template=email.template)
    return True


def _mark_sent_after_interruption(email_id: int, resume: dict[str, Any]) -> bool:
    try:
        email = OutboxJob.objects.filter(
            pk=email_id,
            status=EmailStatus.SENDING,
            claimed_at=datetime.fromisoformat(resume["claimed_at"]),
        ).first()
        if email is None:
            return False
        recorded = _mark_sent(email)
    except DatabaseError as exc:
        raise DeliveryInterrupted(resume) from exc
    if recorded:
        logger.info("E-mail %s (%s) sent (recorded on a retry).", email.pk, email.template)
    return recorded


def job_run(*, job_id: int, resume: dict[str, Any] | None = None) -> bool:
    """Run one outbox job of a registered kind if it is due. Returns True when this call
    ran it. The handler and the "done" stamp share one transaction: a handler that fails
    leaves nothing behind, and the job is tried again later."""
    claimed_at = _claim(job_id, ~Q(kind=EMAIL), resume)
    if claimed_at is None:
        return False
    try:
        job = OutboxJob.objects.get(pk=job_id)
    except DatabaseError as exc:
        raise DeliveryInterrupted(_resume(claimed_at, sent=False)) from exc
    token = log_context.bind_request_id(job.request_id or log_context.request_id())
    try:
        return _run(job, claimed_at)
    finally:
        log_context.reset_request_id(token)


def _run(job: OutboxJob, claimed_at: datetime) -> bool:
    handler = hooks.job_handler(job.kind)
    try:
        with transaction.atomic():
            handler.run(job)
            OutboxJob.objects.filter(pk=job.pk).update(
                status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
            )
    except TRANSIENT_JOB_ERRORS as exc:
        try:
            _record_failure(job, exc)
        except DatabaseError as db_exc:
            # The handler's transaction rolled back: running it again is safe.
            raise DeliveryInterrupted(_resume(claimed_at, sent=False)) from db_exc
        return False
    return True


def _record_failure(job: OutboxJob, exc: Exception, *, permanent: bool = False) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    final = permanent or job.attempts >= settings.EMAIL_MAX_ATTEMPTS
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
        _due_jobs(OutboxJob.objects.all(), now)
        .order_by("next_attempt_at")
        .values_list("pk", "kind")[:SWEEP_BATCH]
    )
    handed = 0
    for job_id, kind in due:
        # Conditional, like a claim: when two sweeps run at once (a second beat started by
        # mistake, or a slow sweep overlapping the next), each job is handed over once.
        if _due_jobs(OutboxJob.objects.filter(pk=job_id), now).update(enqueued_at=now):
            _enqueue(job_id, kind)
            handed += 1
    _forget_finished(now)
    if handed:
        logger.info("Outbox sweep: %d job(s) handed to the broker.", handed)
    return handed


def _due_jobs(queryset: Any, now: Any) -> Any:
    return queryset.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(enqueued_at__isnull=True)
        | Q(enqueued_at__lt=now - timedelta(seconds=settings.OUTBOX_REENQUEUE_AFTER_SECONDS))
    )


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
