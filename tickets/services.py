"""Writes on tickets. Each public function runs in one transaction, records its timeline
events in that transaction, and fires side effects (e-mails) only on commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from establishments.models import Establishment
from worker.services import email_queue

from .exceptions import InvalidTransition, StaleTicket
from .models import (
    OPEN_STATUSES,
    STATUS_TRANSITIONS,
    EventKind,
    MessageKind,
    Motif,
    Priority,
    Queue,
    ReferenceCounter,
    RoutingRule,
    SlaPause,
    Source,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from .sla import add_business_time, business_time_between

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeResult:
    ticket: Ticket
    attached_to_existing: bool


@dataclass(frozen=True)
class Route:
    queue: Queue
    priority: int
    first_response_hours: int | None
    resolution_hours: int | None
    rule_id: int | None


def ticket_event_record(
    *, ticket: Ticket, kind: str, actor=None, data: dict | None = None
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor, data=data or {}, created_at=timezone.now()
    )


def route_for_motif(*, motif: str) -> Route:
    """The queue a request of this motif goes to: its active routing rule, else the
    default queue."""
    rule = (
        RoutingRule.objects.select_related("queue").filter(motif=motif, is_active=True).first()
    )
    if rule is not None:
        return Route(
            queue=rule.queue,
            priority=rule.priority,
            first_response_hours=rule.first_response_hours,
            resolution_hours=rule.resolution_hours,
            rule_id=rule.pk,
        )
    return Route(
        queue=Queue.objects.get(is_default=True),
        priority=Priority.NORMAL,
        first_response_hours=None,
        resolution_hours=None,
        rule_id=None,
    )


def _next_reference(now: datetime) -> str:
    """Take the next number of the year in a short transaction of its own.

    The UPDATE locks the counter row until its transaction ends; done inside the intake
    transaction, that lock would serialise every concurrent intake for its whole
    duration. Taken apart, it is held for one statement; a request that fails later
    leaves a gap in the numbering, which references can afford.
    """
    year = timezone.localtime(now).year
    with transaction.atomic():
        if not ReferenceCounter.objects.filter(year=year).update(
            last_value=F("last_value") + 1
        ):
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(year=year, last_value=1)
            except IntegrityError:
                ReferenceCounter.objects.filter(year=year).update(
                    last_value=F("last_value") + 1
                )
        value = ReferenceCounter.objects.get(year=year).last_value
    return f"{settings.TICKET_REFERENCE_PREFIX}-{year}-{value:06d}"


def _queue_acknowledgement(ticket: Ticket, *, attached: bool) -> None:
    email_queue(
        template="ticket_acknowledgement",
        to_email=ticket.email,
        ticket_id=ticket.pk,
        context={
            "reference": ticket.reference,
            "requester_name": ticket.requester_name,
            "motif": ticket.get_motif_display(),
            "siret": ticket.siret,
            "attached": attached,
        },
    )


def _attach_to_open_ticket(ticket: Ticket, data: dict, source: str) -> IntakeResult:
    now = timezone.now()
    TicketMessage.objects.create(
        ticket=ticket, kind=MessageKind.REQUEST, body=data["description"], created_at=now
    )
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.REQUEST_REPEATED,
        data={"source": source, "requester_name": data["requester_name"]},
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    _queue_acknowledgement(ticket, attached=True)
    return IntakeResult(ticket=ticket, attached_to_existing=True)


def _find_open_duplicate(data: dict) -> Ticket | None:
    return (
        Ticket.objects.select_related("queue")
        .filter(
            siret=data["siret"],
            motif=data["motif"],
            email=data["email"],
            status__in=OPEN_STATUSES,
        )
        .first()
    )


def assistance_request_submit(*, data: dict, source: str) -> IntakeResult:
    """Store a validated assistance request (the cleaned data of
    ``tickets.validation.AssistanceRequestForm``) and route it.

    A request with the same SIRET, motif and e-mail as a still-open ticket is attached to
    that ticket instead of opening a second one.
    """
    assert source in Source.values
    now = timezone.now()
    reference = None
    if _find_open_duplicate(data) is None:
        reference = _next_reference(now)
    with transaction.atomic():
        existing = _find_open_duplicate(data)
        if existing is not None:
            return _attach_to_open_ticket(existing, data, source)
        try:
            with transaction.atomic():
                ticket = _create_ticket(data, source, reference or _next_reference(now), now)
        except IntegrityError:
            # A twin request committed between our lookup and our insert: the partial
            # unique constraint refused ours, so join the twin.
            existing = _find_open_duplicate(data)
            if existing is None:
                raise
            return _attach_to_open_ticket(existing, data, source)
        _queue_acknowledgement(ticket, attached=False)
    logger.info("Ticket %s created (%s) in queue %s.", ticket.reference, source, ticket.queue.slug)
    return IntakeResult(ticket=ticket, attached_to_existing=False)


def _create_ticket(data: dict, source: str, reference: str, now: datetime) -> Ticket:
    route = route_for_motif(motif=data["motif"])
    establishment = Establishment.objects.filter(siret=data["siret"]).first()
    ticket = Ticket.objects.create(
        reference=reference,
        siret=data["siret"],
        denomination=data["denomination"],
        requester_name=data["requester_name"],
        phone=data["phone"],
        email=data["email"],
        motif=data["motif"],
        description=data["description"],
        source=source,
        establishment=establishment,
        queue=route.queue,
        priority=route.priority,
        status=Status.NOUVEAU,
        created_at=now,
        sla_first_response_due=_due(now, route.first_response_hours),
        sla_resolution_due=_due(now, route.resolution_hours),
    )
    TicketMessage.objects.create(
        ticket=ticket, kind=MessageKind.REQUEST, body=data["description"], created_at=now
    )
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.CREATED,
        data={
            "source": source,
            "motif": data["motif"],
            "establishment_known": establishment is not None,
        },
    )
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.ROUTED,
        data={"queue": route.queue.slug, "rule_id": route.rule_id, "priority": route.priority},
    )
    from backoffice.services import notice_link_ticket

    notice_ids = notice_link_ticket(ticket=ticket)
    if notice_ids:
        ticket_event_record(
            ticket=ticket, kind=EventKind.NOTICE_LINKED, data={"notice_ids": notice_ids}
        )
    return ticket


def _due(start: datetime, hours: int | None) -> datetime | None:
    return add_business_time(start, timedelta(hours=hours)) if hours else None


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise StaleTicket(
            _(
                "Ce ticket a été modifié par quelqu'un d'autre entre-temps. "
                "Rechargez la page pour voir la version actuelle."
            )
        )


def ticket_change_status(
    *, ticket: Ticket, actor, new_status: str, expected_version: int | None = None
) -> Ticket:
    """Move a ticket along the state machine declared in ``tickets.models``."""
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        _check_version(locked, expected_version)
        if new_status not in STATUS_TRANSITIONS[locked.status]:
            raise InvalidTransition(
                _("Impossible de passer un ticket de « %(old)s » à « %(new)s ».")
                % {"old": Status(locked.status).label, "new": Status(new_status).label}
            )
        now = timezone.now()
        old_status = locked.status
        locked.status = new_status
        locked.version += 1
        fields = ["status", "version", "updated_at"]
        if new_status == Status.RESOLU:
            locked.resolved_at = now
            fields.append("resolved_at")
        elif new_status == Status.CLOS:
            locked.closed_at = now
            fields.append("closed_at")
        elif old_status == Status.RESOLU:
            # Reopened: the earlier resolution no longer counts.
            locked.resolved_at = None
            fields.append("resolved_at")
        if new_status == Status.EN_ATTENTE:
            fields += _sla_pause(locked, now)
        elif old_status == Status.EN_ATTENTE:
            fields += _sla_resume(locked, now)
        locked.save(update_fields=fields)
        ticket_event_record(
            ticket=locked,
            kind=EventKind.STATUS_CHANGED,
            actor=actor,
            data={"before": old_status, "after": new_status},
        )
    return locked


def _sla_pause(ticket: Ticket, now: datetime) -> list[str]:
    """The requester has the ball: stop the SLA clock."""
    ticket.sla_paused_at = now
    SlaPause.objects.create(ticket=ticket, started_at=now)
    return ["sla_paused_at"]


def _sla_resume(ticket: Ticket, now: datetime) -> list[str]:
    """Restart the clock: push the targets not yet met by the business time paused."""
    if ticket.sla_paused_at is None:
        return []
    paused = business_time_between(ticket.sla_paused_at, now)
    SlaPause.objects.filter(ticket=ticket, ended_at__isnull=True).update(
        ended_at=now, business_seconds=int(paused.total_seconds())
    )
    ticket.sla_paused_at = None
    fields = ["sla_paused_at"]
    if paused:
        if ticket.first_response_at is None and ticket.sla_first_response_due:
            ticket.sla_first_response_due = add_business_time(
                ticket.sla_first_response_due, paused
            )
            fields.append("sla_first_response_due")
        if ticket.sla_resolution_due:
            ticket.sla_resolution_due = add_business_time(ticket.sla_resolution_due, paused)
            fields.append("sla_resolution_due")
    return fields


SLA_SWEEP_BATCH = 500


def sla_breaches_mark(*, now: datetime | None = None) -> dict[str, int]:
    """Mark tickets whose targets passed (beat, every minute). Paused tickets are skipped:
    their targets move when the clock restarts. Idempotent; bounded batches."""
    now = now or timezone.now()
    running = (Status.NOUVEAU, Status.EN_COURS)
    counts = {"first_response": 0, "resolution": 0}
    targets = (
        ("first_response", "sla_first_response_due", "first_response_breached_at",
         {"first_response_at__isnull": True}),
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
                marked = Ticket.objects.filter(
                    pk=pk, **{f"{breached_field}__isnull": True}
                ).update(**{breached_field: now})
                if marked:
                    TicketEvent.objects.create(
                        ticket_id=pk,
                        kind=EventKind.SLA_BREACHED,
                        data={"target": name},
                        created_at=now,
                    )
                    counts[name] += 1
    return counts


ANONYMIZED = "[anonymisé]"


def tickets_anonymize_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Erase the requester's personal data from tickets closed more than
    TICKET_RETENTION_MONTHS ago (beat, daily). Keeps what the dashboards count: queue,
    motif, status, timestamps, SIRET. Bounded batches; idempotent."""
    from worker.models import OutboundEmail

    now = now or timezone.now()
    cutoff = now - timedelta(days=round(settings.TICKET_RETENTION_MONTHS * 30.44))
    ids = list(
        Ticket.objects.filter(
            status=Status.CLOS, closed_at__lt=cutoff, anonymized_at__isnull=True
        ).values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return 0
    with transaction.atomic():
        Ticket.objects.filter(pk__in=ids).update(
            requester_name=ANONYMIZED,
            phone="",
            email="",
            description=ANONYMIZED,
            anonymized_at=now,
        )
        TicketMessage.objects.filter(ticket_id__in=ids).exclude(kind=MessageKind.NOTE).update(
            body=ANONYMIZED
        )
        OutboundEmail.objects.filter(ticket_id__in=ids).update(to_email="", context={})
    logger.info("Anonymised %s closed tickets.", len(ids))
    return len(ids)


__all__ = [
    "IntakeResult",
    "Motif",
    "assistance_request_submit",
    "route_for_motif",
    "ticket_change_status",
    "ticket_event_record",
]
