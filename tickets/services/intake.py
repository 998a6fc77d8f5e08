"""Intake: a validated assistance request becomes a ticket, routed into its queue by its
motif, with its SLA targets, its first timeline events and the acknowledgement e-mail; or
it joins the requester's open ticket on the same SIRET and motif (the repeat rule)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, models, transaction
from django.db.models import F, Field, QuerySet
from django.utils import timezone

from establishments.models import Establishment
from worker.memo import Memo
from worker.prepared import execute_prepared, forget_prepared
from worker.services import email_queue

from ..business_hours import add_business_time
from ..followup import followup_link_for_email, followup_link_spec
from ..models import (
    OPEN_STATUSES,
    EventKind,
    FollowUpLink,
    MessageKind,
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
from ..signals import ticket_created
from .events import ticket_event_record, ticket_events_record

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


# Intake reads the routing of a motif on every request; it changes a few times a year.
# Each process keeps it (worker/memo.py), invalidated on every node by any change to a
# rule or a queue (tickets/apps.py).
ROUTES = Memo("routes", max_age=60)


def route_for_motif(*, motif: str) -> Route:
    """The queue a request of this motif goes to: its active routing rule, else the
    default queue."""
    return ROUTES.get(motif, lambda: _route_read(motif))


def _route_read(motif: str) -> Route:
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


# The year sequences this process has seen committed: their ``nextval`` needs no savepoint
# and rides in intake's first statement (``_intake_lookups``).
_KNOWN_SEQUENCES: set[str] = set()


def _sequence_name(year: int) -> str:
    return f"ticket_reference_{year}"


def _reference_sequence_next(year: int) -> int:
    """PostgreSQL: ``nextval`` of the year's sequence. The sequence is created on first
    use, starting after the highest reference of that year already stored; if the
    transaction that created it rolls back, it is simply created again next time."""
    name = _sequence_name(year)
    prefix = f"{settings.TICKET_REFERENCE_PREFIX}-{year}-"
    for attempt in (1, 2, 3):
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint
                cursor.execute("SELECT nextval(%s)", [name])
                value = cursor.fetchone()[0]
            # Known from now on. If the transaction that created it rolls back (or a
            # restore drops it), the next intake's lookup fails and forgets it.
            _KNOWN_SEQUENCES.add(name)
            return value
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


def _next_reference(now: datetime, drawn: int | None = None) -> str:
    """The next AP-YYYY-NNNNNN number of the year (``drawn``: already drawn by
    ``_intake_lookups``).

    On PostgreSQL, a sequence: no row lock, no extra transaction, so concurrent intakes
    never queue on it; a request that fails later, or turns out to be a repeat, leaves a
    gap, which references can afford. Elsewhere (SQLite, which serialises writes anyway) a
    counter row.
    """
    year = timezone.localtime(now).year
    if drawn is not None:
        value = drawn
    elif connection.vendor == "postgresql":
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


def _queue_acknowledgement(
    ticket: Ticket, *, attached: bool, secret_link: dict | None = None
) -> None:
    # The acknowledgement carries the requester's personal follow-up link (its token is
    # drawn by the worker when it sends the e-mail; ``secret_link``: its row is written
    # already). It goes to the ticket's address on record, never to an address typed with
    # a repeated request: the reference and the link reach only the requester.
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
            "secret_link": secret_link or followup_link_for_email(ticket=ticket),
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


def _open_duplicates(data: dict) -> QuerySet[Ticket]:
    return Ticket.objects.filter(
        siret=data["siret"], motif=data["motif"], email=data["email"], status__in=OPEN_STATUSES
    )


@dataclass(frozen=True)
class _Lookups:
    number: int | None  # the year sequence's next value (PostgreSQL, sequence known)
    duplicate_id: int | None
    establishment_id: int | None


def _intake_lookups(data: dict, now: datetime) -> _Lookups:
    """Everything intake reads before writing, in one statement: the repeat rule's open
    ticket (through the partial unique index behind the rule), the establishment of the
    SIRET and, on PostgreSQL once this process knows the year's sequence, the reference
    number.

    On PostgreSQL the statement is prepared once per connection
    (``worker.prepared.execute_prepared``): planned against the ticket table's indexes, it
    cost 0.46 ms of the server's CPU for 0.05 ms of execution; prepared, 0.02 ms."""
    params: list[Any] = [data["siret"], data["motif"], data["email"], data["siret"]]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOOKUPS_SQL.format(nextval="", dup=_DUPLICATE_SQL), params)
            row = cursor.fetchone()
        return _Lookups(number=None, duplicate_id=row[0], establishment_id=row[1])
    sequence = _sequence_name(timezone.localtime(now).year)
    # Read once: another thread of this process may learn the sequence meanwhile.
    draw = sequence in _KNOWN_SEQUENCES
    if draw:
        name = f"intake_lookups_{sequence}"
        sql = _LOOKUPS_SQL.format(nextval=f"nextval('{sequence}'), ", dup=_DUPLICATE_SQL)
    else:
        name, sql = "intake_lookups", _LOOKUPS_SQL.format(nextval="", dup=_DUPLICATE_SQL)
    row = execute_prepared(name, sql, params)
    if draw:
        return _Lookups(number=row[0], duplicate_id=row[1], establishment_id=row[2])
    return _Lookups(number=None, duplicate_id=row[0], establishment_id=row[1])


# Written once (building them with the ORM on every request cost more than running them).
_LOOKUPS_SQL = "SELECT {nextval}{dup}, " + (
    f"(SELECT id FROM {Establishment._meta.db_table} WHERE siret = %s LIMIT 1)"
)
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # constants, not input
# The open statuses are literals, so that the prepared statement's generic plan still
# matches the partial unique index behind the repeat rule.
_DUPLICATE_SQL = (
    f"(SELECT id FROM {Ticket._meta.db_table} WHERE siret = %s AND motif = %s AND email = %s"
    f" AND status IN ({_OPEN}) LIMIT 1)"
)


def assistance_request_submit(*, data: dict, source: str) -> IntakeResult:
    """Store a validated assistance request (the cleaned data of
    ``tickets.forms.AssistanceRequestForm``) and route it.

    A request with the same SIRET, motif and e-mail as a still-open ticket is attached to
    that ticket instead of opening a second one (as a ``REPEATED_REQUEST`` message). The
    caller must not tell a public visitor which of the two happened (the public form
    answers the same acknowledgement either way).

    One transaction of three statements on the usual path (PostgreSQL): one SELECT for
    what must be read, one INSERT of the ticket with its request message, its two events
    and its follow-up link (``_create_ticket_pg``), and the acknowledgement's outbox row;
    API keys and routing come from per-process memos.
    """
    assert source in Source.values
    now = timezone.now()
    for attempt in (1, 2, 3):
        try:
            with transaction.atomic():
                found = _intake_lookups(data, now)
                if found.duplicate_id is not None:
                    existing = Ticket.objects.select_related("queue").get(pk=found.duplicate_id)
                    return _attach_to_open_ticket(existing, data, source)
                reference = _next_reference(now, found.number)
                ticket, link = _create_ticket(data, source, reference, now, found.establishment_id)
                _queue_acknowledgement(ticket, attached=False, secret_link=link)
            break
        except IntegrityError:
            # A twin request committed between our lookup and our insert: the partial
            # unique constraint refused ours and the transaction is rolled back (no
            # savepoint on the usual path). Once more: the lookup finds the twin, and this
            # request joins it.
            if attempt == 3 or not _open_duplicates(data).exists():
                raise
        except ProgrammingError:
            # The year's sequence this process knew is gone (its creation was rolled back,
            # or the database was restored), or the server lost this connection's prepared
            # statement: forget both; the next attempt creates them again.
            had_prepared = forget_prepared()
            if attempt == 3 or not (_KNOWN_SEQUENCES or had_prepared):
                raise
            _KNOWN_SEQUENCES.clear()
    logger.info("Ticket %s created (%s) in queue %s.", ticket.reference, source, ticket.queue.slug)
    return IntakeResult(ticket=ticket, attached_to_existing=False)


def _create_ticket(
    data: dict, source: str, reference: str, now: datetime, establishment_id: int | None
) -> tuple[Ticket, dict]:
    """The new ticket, its request message, its "created" and "routed" events and the
    follow-up link of its acknowledgement (returned as the e-mail's ``secret_link`` spec);
    then ``ticket_created`` for the apps above."""
    route = route_for_motif(motif=data["motif"])
    fields = dict(
        reference=reference,
        siret=data["siret"],
        denomination=data["denomination"],
        requester_name=data["requester_name"],
        phone=data["phone"],
        email=data["email"],
        motif=data["motif"],
        description=data["description"],
        source=source,
        establishment_id=establishment_id,
        queue=route.queue,
        priority=route.priority,
        status=Status.NOUVEAU,
        created_at=now,
        sla_first_response_due=_due(now, route.first_response_hours),
        sla_resolution_due=_due(now, route.resolution_hours),
    )
    events: list[tuple[str, dict]] = [
        (
            EventKind.CREATED,
            {
                "source": source,
                "motif": data["motif"],
                "establishment_known": establishment_id is not None,
            },
        ),
        (
            EventKind.ROUTED,
            {
                "queue": route.queue.slug,
                "queue_name": route.queue.name,
                "rule_id": route.rule_id,
                "priority": route.priority,
            },
        ),
    ]
    if connection.vendor in SINGLE_STATEMENT_VENDORS:
        ticket, link_id = _create_ticket_pg(fields, events, now)
        link = followup_link_spec(link_id)
    else:
        ticket = Ticket.objects.create(**fields)
        TicketMessage.objects.create(
            ticket=ticket, kind=MessageKind.REQUEST, body=data["description"], created_at=now
        )
        ticket_events_record(ticket=ticket, events=events)
        link = followup_link_for_email(ticket=ticket)
    # Apps above tickets react in this transaction (the notices link the ticket to the
    # live incident notices of its motif): tickets does not know them.
    ticket_created.send(sender=Ticket, ticket=ticket)
    return ticket, link


# Where intake writes a new ticket's rows in one statement (``_create_ticket_pg``);
# elsewhere (SQLite) through the ORM. The tests compare the two paths' rows.
SINGLE_STATEMENT_VENDORS = ("postgresql",)


def _columns(model: type[models.Model], names: list[str]) -> str:
    fields = [cast(Field, model._meta.get_field(name)) for name in names]
    return ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)


# The ticket's columns that intake sets, in this order (the others are NULL on a new
# ticket); ``version`` is the model's default.
_TICKET_FIELDS = [
    "reference", "siret", "denomination", "requester_name", "phone", "email", "motif",
    "description", "source", "establishment", "queue", "priority", "status", "created_at",
    "sla_first_response_due", "sla_resolution_due", "version", "updated_at",
]  # fmt: skip

_TICKET_DB_FIELDS = [cast(Field, Ticket._meta.get_field(name)) for name in _TICKET_FIELDS]
_MESSAGE_FIELDS = ["ticket", "kind", "body", "created_at", "received_from", "received_via"]

# PostgreSQL: the ticket, its request message, its two events (in this order: their ids
# follow the ORDER BY) and its follow-up link in one statement, one round trip. Written
# once from the models' own table and column names.
_CREATE_TICKET_SQL = (
    f"WITH t AS (INSERT INTO {Ticket._meta.db_table} ({_columns(Ticket, _TICKET_FIELDS)})"
    f" VALUES ({', '.join(['%s'] * len(_TICKET_FIELDS))}) RETURNING id),"
    f" m AS (INSERT INTO {TicketMessage._meta.db_table}"
    f" ({_columns(TicketMessage, _MESSAGE_FIELDS)})"
    f" SELECT id, %s, %s, %s, '', '' FROM t),"
    f" e AS (INSERT INTO {TicketEvent._meta.db_table}"
    f" ({_columns(TicketEvent, ['ticket', 'kind', 'data', 'created_at'])})"
    f" SELECT t.id, v.kind, v.data, %s FROM t,"
    f" (VALUES (1, %s, %s::jsonb), (2, %s, %s::jsonb)) AS v(n, kind, data) ORDER BY v.n),"
    f" f AS (INSERT INTO {FollowUpLink._meta.db_table}"
    f" ({_columns(FollowUpLink, ['ticket', 'token_hash', 'created_at'])})"
    f" SELECT id, '', %s FROM t RETURNING id)"
    " SELECT t.id, f.id FROM t, f"
)  # fmt: skip


def _create_ticket_pg(
    fields: dict, events: list[tuple[str, dict]], now: datetime
) -> tuple[Ticket, int]:
    """What the ORM path of ``_create_ticket`` writes, in one statement (the ORM spent
    more CPU building its four INSERTs than PostgreSQL spent running them). Values go
    through each field's own ``get_db_prep_save``, as the ORM's would."""
    fields = {**fields, "version": Ticket._meta.get_field("version").get_default(),
              "updated_at": now}  # fmt: skip
    values = {**fields, "establishment": fields["establishment_id"], "queue": fields["queue"].pk}
    params: list[Any] = [
        field.get_db_prep_save(values[field.name], connection) for field in _TICKET_DB_FIELDS
    ]
    data_field = cast(Field, TicketEvent._meta.get_field("data"))
    params += [MessageKind.REQUEST, fields["description"], now, now]
    for kind, data in events:
        params += [kind, data_field.get_db_prep_save(data, connection)]
    params.append(now)
    ticket_id, link_id = execute_prepared("intake_create_ticket", _CREATE_TICKET_SQL, params)
    ticket = Ticket(id=ticket_id, **fields)
    ticket._state.adding = False
    ticket._state.db = connection.alias
    return ticket, link_id


def _due(start: datetime, hours: int | None) -> datetime | None:
    return add_business_time(start, timedelta(hours=hours)) if hours else None
