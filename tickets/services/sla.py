"""SLA clocks: paused while a ticket waits on the requester, pushed back by the business
time of the pause when it restarts, and breaches marked by beat's sweep."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from worker import metrics

from ..business_hours import add_business_time, business_time_between
from ..models import EventKind, SlaPause, Status, Ticket, TicketEvent

# Counted in the transaction that marks the breach (once per ticket and target).
SLA_BREACHES = metrics.counter(
    "apsupport_sla_breaches",
    "SLA targets marked as missed by beat's sweep, by target (first_response, resolution).",
    labels=("target",),
)


def sla_pause_values(ticket: Ticket, now: datetime) -> dict:
    """The requester has the ball: stop the SLA clock. Opens a pause row; returns the
    ticket fields to write with the status change."""
    SlaPause.objects.create(ticket=ticket, started_at=now)
    return {"sla_paused_at": now}


def sla_resume_values(ticket: Ticket, now: datetime) -> dict:
    """Restart the clock: close the open pause and push the targets not yet met by the
    business time it lasted. Returns the ticket fields to write with the status change."""
    if ticket.sla_paused_at is None:
        return {}
    paused = business_time_between(ticket.sla_paused_at, now)
    SlaPause.objects.filter(ticket=ticket, ended_at__isnull=True).update(
        ended_at=now, business_seconds=int(paused.total_seconds())
    )
    values: dict = {"sla_paused_at": None}
    if paused:
        if ticket.first_response_at is None and ticket.sla_first_response_due:
            values["sla_first_response_due"] = add_business_time(
                ticket.sla_first_response_due, paused
            )
        if ticket.sla_resolution_due:
            values["sla_resolution_due"] = add_business_time(ticket.sla_resolution_due, paused)
    return values


SLA_SWEEP_BATCH = 500


def sla_breaches_mark(*, now: datetime | None = None) -> dict[str, int]:
    """Mark tickets whose targets passed (beat, every minute). Paused tickets are skipped:
    their targets move when the clock restarts. Idempotent; bounded batches."""
    now = now or timezone.now()
    running = (Status.NOUVEAU, Status.EN_COURS)
    counts = {"first_response": 0, "resolution": 0}
    targets: tuple[tuple[str, str, str, dict], ...] = (
        (
            "first_response",
            "sla_first_response_due",
            "first_response_breached_at",
            {"first_response_at__isnull": True},
        ),
        ("resolution", "sla_resolution_due", "resolution_breached_at", {}),
    )
    for name, due_field, breached_field, extra in targets:
        ids = list(
            Ticket.objects.filter(
                status__in=running,
                **{f"{due_field}__lt": now, f"{breached_field}__isnull": True},
                **extra,
            ).values_list("pk", flat=True)[:SLA_SWEEP_BATCH]
        )
        for pk in ids:
            with transaction.atomic():
                marked = Ticket.objects.filter(pk=pk, **{f"{breached_field}__isnull": True}).update(
                    **{breached_field: now}
                )
                if marked:
                    TicketEvent.objects.create(
                        ticket_id=pk,
                        kind=EventKind.SLA_BREACHED,
                        data={"target": name},
                        created_at=now,
                    )
                    metrics.inc(SLA_BREACHES, target=name)
                    counts[name] += 1
    return counts
