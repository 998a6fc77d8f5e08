"""The ticket timeline: one append-only ``TicketEvent`` per thing that happened, written
in the transaction of the change it records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from ..models import Ticket, TicketEvent

if TYPE_CHECKING:
    from accounts.staff.models import User


def ticket_event_record(
    *,
    ticket_id: int | None = None,
    ticket: Ticket | None = None,
    kind: str,
    actor: User | None = None,
    data: dict | None = None,
) -> TicketEvent:
    """Append one event to a ticket's timeline. ``actor`` None: the system (worker, beat,
    the requester). ``data`` holds before/after values and details, never a secret."""
    if ticket is not None:
        ticket_id = ticket.pk
    if ticket_id is None:
        raise ValueError("ticket or ticket_id is required")
    return TicketEvent.objects.create(
        ticket_id=ticket_id, kind=kind, actor=actor, data=data or {}, created_at=timezone.now()
    )


def ticket_events_record(
    *, ticket: Ticket, events: list[tuple[str, dict]], actor: User | None = None
) -> list[TicketEvent]:
    """Append several events at once (one INSERT), in the order given, at the same time."""
    now = timezone.now()
    return TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket_id=ticket.pk, kind=kind, actor=actor, data=data, created_at=now)
            for kind, data in events
        ]
    )
