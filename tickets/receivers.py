"""Tickets' receivers of the outbox's signals: an e-mail that belongs to a ticket is put on
its timeline when it leaves or is given up (in the worker's transaction)."""

from __future__ import annotations

from typing import Any

from .models import EventKind
from .services import ticket_event_record


def on_email_sent(sender: Any, *, email: Any, **kwargs: Any) -> None:
    if email.ticket_id:
        ticket_event_record(
            ticket_id=email.ticket_id,
            kind=EventKind.EMAIL_SENT,
            data={"template": email.template, "email_id": email.pk},
        )


def on_email_failed(sender: Any, *, email: Any, error: str = "", **kwargs: Any) -> None:
    if email.ticket_id:
        ticket_event_record(
            ticket_id=email.ticket_id,
            kind=EventKind.EMAIL_FAILED,
            data={"template": email.template, "email_id": email.pk, "error": error},
        )
