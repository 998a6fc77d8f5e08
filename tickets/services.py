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
    Source,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)

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
    year = timezone.localtime(now).year
    # The UPDATE takes the row lock until the transaction ends, so two requests can never
    # get the same number.
    if not ReferenceCounter.objects.filter(year=year).update(last_value=F("last_value") + 1):
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last_value=1)
        except IntegrityError:
            ReferenceCounter.objects.filter(year=year).update(last_value=F("last_value") + 1)
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
    with transaction.atomic():
        existing = _find_open_duplicate(data)
        if existing is not None:
            return _attach_to_open_ticket(existing, data, source)
        try:
            with transaction.atomic():
                ticket = _create_ticket(data, source)
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


def _create_ticket(data: dict, source: str) -> Ticket:
    now = timezone.now()
    route = route_for_motif(motif=data["motif"])
    establishment = Establishment.objects.filter(siret=data["siret"]).first()
    ticket = Ticket.objects.create(
        reference=_next_reference(now),
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
    return start + timedelta(hours=hours) if hours else None


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
        locked.save(update_fields=fields)
        ticket_event_record(
            ticket=locked,
            kind=EventKind.STATUS_CHANGED,
            actor=actor,
            data={"before": old_status, "after": new_status},
        )
    return locked


__all__ = [
    "IntakeResult",
    "Motif",
    "assistance_request_submit",
    "route_for_motif",
    "ticket_change_status",
    "ticket_event_record",
]
