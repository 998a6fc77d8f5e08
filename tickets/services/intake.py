"""Intake: a validated assistance request becomes a ticket, routed into its queue by its
motif, with its SLA targets, its first timeline events and the acknowledgement e-mail; or
it joins the requester's open ticket on the same SIRET and motif (the repeat rule)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F
from django.utils import timezone

from establishments.models import Establishment
from worker.services import email_queue

from ..business_hours import add_business_time
from ..followup import followup_link_for_email
from ..models import (
    OPEN_STATUSES,
    EventKind,
    MessageKind,
    Priority,
    Queue,
    ReferenceCounter,
    RoutingRule,
    Source,
    Status,
    Ticket,
    TicketMessage,
)
from ..signals import ticket_created
from .events import ticket_event_record

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


def route_for_motif(*, motif: str) -> Route:
    """The queue a request of this motif goes to: its active routing rule, else the
    default queue."""
    rule = RoutingRule.objects.select_related("queue").filter(motif=motif, is_active=True).first()
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


def _reference_sequence_next(year: int) -> int:
    """PostgreSQL: ``nextval`` of the year's sequence. The sequence is created on first
    use, starting after the highest reference of that year already stored; if the
    transaction that created it rolls back, it is simply created again next time."""
    name = f"ticket_reference_{year}"
    prefix = f"{settings.TICKET_REFERENCE_PREFIX}-{year}-"
    for attempt in (1, 2, 3):
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint
                cursor.execute("SELECT nextval(%s)", [name])
                return cursor.fetchone()[0]
        except ProgrammingError:
            pass  # no sequence for this year yet
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COALESCE(MAX(CAST(SUBSTRING(reference FROM %s) AS integer)), 0) "
                    "FROM tickets_ticket WHERE reference LIKE %s",
                    [len(prefix) + 1, prefix + "%"],
                )
                start = int(cursor.fetchone()[0]) + 1
                cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {start}")
        except (IntegrityError, ProgrammingError):
            # Another process created it at the same moment: it exists now.
            if attempt == 3:
                raise
    raise RuntimeError(f"Could not draw a number from {name}.")


def _next_reference(now: datetime) -> str:
    """The next AP-YYYY-NNNNNN number of the year.

    On PostgreSQL, a sequence: no row lock, no extra transaction, so concurrent intakes
    never queue on it; a request that fails later leaves a gap, which references can
    afford. Elsewhere (SQLite, which serialises writes anyway) a counter row.
    """
    year = timezone.localtime(now).year
    if connection.vendor == "postgresql":
        value = _reference_sequence_next(year)
    else:
        if not ReferenceCounter.objects.filter(year=year).update(last_value=F("last_value") + 1):
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(year=year, last_value=1)
            except IntegrityError:
                ReferenceCounter.objects.filter(year=year).update(last_value=F("last_value") + 1)
        value = ReferenceCounter.objects.get(year=year).last_value
    return f"{settings.TICKET_REFERENCE_PREFIX}-{year}-{value:06d}"


def _queue_acknowledgement(ticket: Ticket, *, attached: bool) -> None:
    # The acknowledgement carries the requester's personal follow-up link (its token is
    # drawn by the worker when it sends the e-mail). It goes to the ticket's address on
    # record, never to an address typed with a repeated request: the reference and the
    # link reach only the requester.
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
            "secret_link": followup_link_for_email(ticket=ticket),
        },
    )


def _attach_to_open_ticket(ticket: Ticket, data: dict, source: str) -> IntakeResult:
    """The repeat rule. Whoever knows a SIRET, a motif and an address can send this, so the
    text is kept as a message of its own kind, with the address typed and where it came
    from, never as the requester's own words; the timeline says so, and flags an address
    that differs from the ticket's."""
    now = timezone.now()
    received_from = data["email"]
    address_differs = received_from != ticket.email
    TicketMessage.objects.create(
        ticket=ticket,
        kind=MessageKind.REPEATED_REQUEST,
        body=data["description"],
        received_from=received_from,
        received_via=source,
        created_at=now,
    )
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.REQUEST_REPEATED,
        data={
            "source": source,
            "requester_name": data["requester_name"],
            # The address itself is on the message (erased with the ticket's data by the
            # retention sweep); the timeline is append-only, so it says only whether it
            # differed.
            "address_differs": address_differs,
        },
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
    ``tickets.forms.AssistanceRequestForm``) and route it.

    A request with the same SIRET, motif and e-mail as a still-open ticket is attached to
    that ticket instead of opening a second one (as a ``REPEATED_REQUEST`` message). The
    caller must not tell a public visitor which of the two happened (the public form
    answers the same acknowledgement either way).
    """
    assert source in Source.values
    now = timezone.now()
    with transaction.atomic():
        existing = _find_open_duplicate(data)
        if existing is not None:
            return _attach_to_open_ticket(existing, data, source)
        try:
            with transaction.atomic():
                ticket = _create_ticket(data, source, _next_reference(now), now)
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
    # Apps above tickets react in this transaction (the notices link the ticket to the
    # live incident notices of its motif): tickets does not know them.
    ticket_created.send(sender=Ticket, ticket=ticket)
    return ticket


def _due(start: datetime, hours: int | None) -> datetime | None:
    return add_business_time(start, timedelta(hours=hours)) if hours else None
