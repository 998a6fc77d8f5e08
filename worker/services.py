"""The outbox: queue e-mails inside a transaction, deliver them from the worker."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from .models import EmailStatus, OutboundEmail

logger = logging.getLogger(__name__)

# A worker that dies in the middle of a send leaves its row "sending"; after this long
# (settings.EMAIL_CLAIM_TIMEOUT_SECONDS) the sweep gives the row to another worker.
# A pending row that was handed to the broker this long ago without being picked up is
# handed over again (the broker may have lost it).
REENQUEUE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, TimeoutError)


def _enqueue(email_id: int) -> None:
    """Hand one e-mail to the broker. Never raises: a broker that is down only delays the
    e-mail until the next sweep.

    The row must carry its ``enqueued_at`` stamp before publishing (``email_queue``
    writes it with the row; the sweep stamps it before calling this): a worker may pick
    the task up, and even record a failure that clears the stamp, before ``delay``
    returns here.
    """
    from .tasks import send_email

    try:
        send_email.delay(email_id)
    except Exception:  # noqa: BLE001 - any broker failure: the sweep will retry.
        logger.warning("Broker unavailable; e-mail %s stays in the outbox.", email_id)
        OutboundEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING).update(
            enqueued_at=None
        )


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
    )
    transaction.on_commit(lambda: _enqueue(email.pk))
    return email


def _secret_link_context(email: OutboundEmail) -> dict | None:
    """E-mails that carry a secret link (recovery, activation, objection) have its token
    drawn now, at send time, so the token exists in the message only and never in the
    outbox row. None: the link lost its object, the e-mail is not sent."""
    spec = email.context.get("secret_link")
    if not spec:
        return {}
    from accounts.extranet.links import secret_link_issue

    return secret_link_issue(spec=spec)


def _render(email: OutboundEmail, extra: dict | None = None) -> EmailMessage:
    context = {**email.context, **(extra or {}), "site_base_url": settings.SITE_BASE_URL}
    subject = render_to_string(f"emails/{email.template}_subject.txt", context)
    body = render_to_string(f"emails/{email.template}_body.txt", context)
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
    """Send one outbox e-mail if it is due. Returns True when it was sent by this call.

    Idempotent: the row is claimed with a conditional UPDATE, so two workers given the same
    id cannot both send it, and a row already sent is left alone.
    """
    now = timezone.now()
    claimed = OutboundEmail.objects.filter(
        pk=email_id, status=EmailStatus.PENDING, next_attempt_at__lte=now
    ).update(status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return False
    email = OutboundEmail.objects.select_related("ticket").get(pk=email_id)
    extra = _secret_link_context(email)
    if extra is None:
        OutboundEmail.objects.filter(pk=email.pk).update(
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
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        if email.context.get("secret_link"):
            from accounts.extranet.links import secret_link_sent

            secret_link_sent(spec=email.context["secret_link"])
        if email.ticket_id:
            from tickets.models import EventKind
            from tickets.services import ticket_event_record

            ticket_event_record(
                ticket=email.ticket,
                kind=EventKind.EMAIL_SENT,
                actor=None,
                data={"template": email.template, "email_id": email.pk},
            )
    logger.info("E-mail %s (%s) sent.", email.pk, email.template)
    return True


def _record_failure(email: OutboundEmail, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    final = email.attempts >= settings.EMAIL_MAX_ATTEMPTS
    with transaction.atomic():
        if final:
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=EmailStatus.FAILED, last_error=error
            )
        else:
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=EmailStatus.PENDING,
                last_error=error,
                next_attempt_at=timezone.now() + _backoff(email.attempts),
                enqueued_at=None,
            )
        if final and email.ticket_id:
            from tickets.models import EventKind
            from tickets.services import ticket_event_record

            ticket_event_record(
                ticket=email.ticket,
                kind=EventKind.EMAIL_FAILED,
                actor=None,
                data={"template": email.template, "email_id": email.pk, "error": error},
            )
    logger.warning(
        "E-mail %s (%s) failed, attempt %s%s: %s",
        email.pk,
        email.template,
        email.attempts,
        " (giving up)" if final else "",
        type(exc).__name__,
    )


def outbox_sweep() -> int:
    """Hand due e-mails to the broker: those never handed over (broker down at commit),
    those whose retry time came, and those a dead worker left half-sent. Returns how many
    were handed over."""
    now = timezone.now()
    OutboundEmail.objects.filter(
        status=EmailStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT_SECONDS),
    ).update(status=EmailStatus.PENDING, enqueued_at=None)
    due = list(
        OutboundEmail.objects.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for email_id in due:
        OutboundEmail.objects.filter(pk=email_id).update(enqueued_at=now)
        _enqueue(email_id)
    return len(due)
