"""Writes on tickets. Each public function runs in one transaction, records its timeline
events in that transaction, and fires side effects (e-mails) only on commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from establishments.models import Establishment
from worker.services import email_queue

from .exceptions import (
    ActionNotAllowed,
    InvalidTransition,
    NoTicketAvailable,
    StaleTicket,
    TicketNotFound,
)
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
from .selectors import user_can_see_queue
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


def _lock_for_actor(*, ticket_id: int, actor) -> Ticket:
    """Lock the ticket row and check, under the lock, that ``actor`` works on its queue.
    A ticket outside the actor's queues is reported as missing."""
    locked = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if locked is None or (
        actor is not None and not user_can_see_queue(user=actor, queue_id=locked.queue_id)
    ):
        raise TicketNotFound(_("Ce ticket n'existe pas ou ne vous est pas accessible."))
    return locked


def _apply_status(locked: Ticket, new_status: str, now: datetime) -> list[str]:
    """Move ``locked`` to ``new_status`` in memory; returns the fields to save."""
    if new_status not in STATUS_TRANSITIONS[locked.status]:
        raise InvalidTransition(
            _("Impossible de passer le ticket %(ref)s de « %(old)s » à « %(new)s ».")
            % {
                "ref": locked.reference,
                "old": Status(locked.status).label,
                "new": Status(new_status).label,
            }
        )
    old_status = locked.status
    locked.status = new_status
    fields = ["status"]
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
    return fields


def ticket_change_status(
    *, ticket: Ticket, actor, new_status: str, expected_version: int | None = None
) -> Ticket:
    """Move a ticket along the state machine declared in ``tickets.models``."""
    if new_status not in Status.values:
        raise InvalidTransition(_("Statut inconnu."))
    with transaction.atomic():
        locked = _lock_for_actor(ticket_id=ticket.pk, actor=actor)
        _check_version(locked, expected_version)
        old_status = locked.status
        fields = _apply_status(locked, new_status, timezone.now())
        locked.version += 1
        locked.save(update_fields=[*fields, "version", "updated_at"])
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
            ticket.sla_first_response_due = add_business_time(ticket.sla_first_response_due, paused)
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


def _check_assignee(*, assignee, queue_id: int) -> None:
    if assignee is None:
        return
    if not user_can_see_queue(user=assignee, queue_id=queue_id):
        raise ActionNotAllowed(
            _("%(name)s ne fait pas partie de la file de ce ticket.") % {"name": assignee}
        )


def _set_assignee(locked: Ticket, *, actor, assignee, now: datetime) -> None:
    """Record the assignment change of ``locked`` (already checked) and, when an agent
    takes a new ticket, start it ("en cours")."""
    before = locked.assignee_id
    locked.assignee = assignee
    fields = ["assignee", "version", "updated_at"]
    old_status = locked.status
    if assignee is not None and locked.status == Status.NOUVEAU:
        locked.status = Status.EN_COURS
        fields.append("status")
    locked.version += 1
    locked.save(update_fields=fields)
    if assignee is None:
        ticket_event_record(
            ticket=locked, kind=EventKind.UNASSIGNED, actor=actor, data={"before": before}
        )
    else:
        ticket_event_record(
            ticket=locked,
            kind=EventKind.ASSIGNED,
            actor=actor,
            data={"before": before, "after": assignee.pk, "assignee": str(assignee)},
        )
    if locked.status != old_status:
        ticket_event_record(
            ticket=locked,
            kind=EventKind.STATUS_CHANGED,
            actor=actor,
            data={"before": old_status, "after": locked.status},
        )


def ticket_assign(
    *, ticket: Ticket, actor, assignee, expected_version: int | None = None
) -> Ticket:
    """Give the ticket to ``assignee`` (a member of its queue, or a supervisor), or take it
    back to the unassigned pile when ``assignee`` is None."""
    with transaction.atomic():
        locked = _lock_for_actor(ticket_id=ticket.pk, actor=actor)
        _check_version(locked, expected_version)
        if not locked.is_open:
            raise ActionNotAllowed(_("Un ticket résolu ou clos ne peut pas être réassigné."))
        if assignee is not None and not assignee.is_active:
            raise ActionNotAllowed(_("Cet agent n'est plus actif."))
        _check_assignee(assignee=assignee, queue_id=locked.queue_id)
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        _set_assignee(locked, actor=actor, assignee=assignee, now=timezone.now())
    return locked


def ticket_claim(*, ticket: Ticket, actor, expected_version: int | None = None) -> Ticket:
    """The actor takes an unassigned ticket of one of its queues. A ticket someone else
    already holds is refused, not taken over."""
    with transaction.atomic():
        locked = _lock_for_actor(ticket_id=ticket.pk, actor=actor)
        _check_version(locked, expected_version)
        if locked.assignee_id == actor.pk:
            return locked
        if locked.assignee_id is not None:
            raise ActionNotAllowed(_("Ce ticket est déjà assigné à un autre agent."))
        if not locked.is_open:
            raise ActionNotAllowed(_("Un ticket résolu ou clos ne peut pas être pris."))
        _set_assignee(locked, actor=actor, assignee=actor, now=timezone.now())
    return locked


def ticket_take_next(*, queue: Queue, actor) -> Ticket:
    """Give the actor the next unassigned open ticket of ``queue``: highest priority first,
    then the oldest.

    Several agents asking at once each get a different ticket: on PostgreSQL the candidate
    row is locked with ``SKIP LOCKED``, so a second agent skips a row the first is taking
    instead of waiting for it and then finding it taken. SQLite serialises write
    transactions, so there the first agent's transaction has committed before the second
    one reads. The conditional UPDATE is a last guard on both.
    """
    if not user_can_see_queue(user=actor, queue_id=queue.pk):
        raise TicketNotFound(_("Cette file n'existe pas ou ne vous est pas accessible."))
    for _attempt in range(5):
        with transaction.atomic():
            candidates = Ticket.objects.filter(
                queue_id=queue.pk, assignee__isnull=True, status__in=OPEN_STATUSES
            ).order_by("-priority", "created_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            ticket = candidates.first()
            if ticket is None:
                raise NoTicketAvailable(_("Aucun ticket à prendre dans cette file."))
            taken = Ticket.objects.filter(pk=ticket.pk, assignee__isnull=True).update(
                assignee=actor
            )
            if not taken:
                continue
            ticket.assignee = None
            _set_assignee(ticket, actor=actor, assignee=actor, now=timezone.now())
            return ticket
    raise NoTicketAvailable(_("Aucun ticket à prendre dans cette file."))


def ticket_note_add(*, ticket: Ticket, actor, body: str) -> TicketMessage:
    """An internal note: seen by agents only, never sent. Does not change the ticket's
    version (a note never conflicts with a colleague's edit)."""
    body = (body or "").strip()
    if not body:
        raise ActionNotAllowed(_("La note est vide."))
    with transaction.atomic():
        locked = _lock_for_actor(ticket_id=ticket.pk, actor=actor)
        message = TicketMessage.objects.create(
            ticket=locked,
            kind=MessageKind.NOTE,
            author=actor,
            body=body,
            created_at=timezone.now(),
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.NOTE_ADDED,
            actor=actor,
            data={"message_id": message.pk},
        )
    return message


def ticket_reply(
    *, ticket: Ticket, actor, body: str, expected_version: int | None = None
) -> TicketMessage:
    """A reply to the requester: stored, put on the timeline, and e-mailed by the worker
    once the transaction commits (the reference is in the subject). The first reply stamps
    the first-response time."""
    body = (body or "").strip()
    if not body:
        raise ActionNotAllowed(_("La réponse est vide."))
    with transaction.atomic():
        locked = _lock_for_actor(ticket_id=ticket.pk, actor=actor)
        _check_version(locked, expected_version)
        if locked.status == Status.CLOS:
            raise ActionNotAllowed(_("Ce ticket est clos : il n'est plus possible d'y répondre."))
        now = timezone.now()
        message = TicketMessage.objects.create(
            ticket=locked, kind=MessageKind.REPLY, author=actor, body=body, created_at=now
        )
        fields = ["version", "updated_at"]
        if locked.first_response_at is None:
            locked.first_response_at = now
            fields.append("first_response_at")
        locked.version += 1
        locked.save(update_fields=fields)
        email = email_queue(
            template="ticket_reply",
            to_email=locked.email,
            ticket_id=locked.pk,
            context={
                "reference": locked.reference,
                "requester_name": locked.requester_name,
                "body": body,
            },
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.REPLY_SENT,
            actor=actor,
            data={"message_id": message.pk, "email_id": email.pk, "to": locked.email},
        )
    return message


BULK_MAX = 200


def _lock_many_for_actor(*, ticket_ids: list[int], actor) -> list[Ticket]:
    ids = sorted({int(i) for i in ticket_ids})
    if not ids:
        raise ActionNotAllowed(_("Aucun ticket sélectionné."))
    if len(ids) > BULK_MAX:
        raise ActionNotAllowed(_("Au plus %(max)s tickets à la fois.") % {"max": BULK_MAX})
    # Locked in id order, so two bulk operations never deadlock on each other.
    qs = Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    if not actor.is_supervisor:
        qs = qs.filter(
            queue_id__in=Queue.members.through.objects.filter(user_id=actor.pk).values("queue_id")
        )
    locked = list(qs)
    if len(locked) != len(ids) or not actor.is_active:
        # All or nothing: one id outside the actor's queues refuses the whole batch.
        raise TicketNotFound(
            _("Un ou plusieurs tickets n'existent pas ou ne vous sont pas accessibles.")
        )
    return locked


def ticket_bulk_assign(*, ticket_ids: list[int], actor, assignee) -> list[Ticket]:
    """Assign (or unassign, with None) several tickets at once: one transaction, one
    timeline event per ticket that changed. Any ticket that cannot be given to
    ``assignee`` refuses the whole batch."""
    with transaction.atomic():
        locked = _lock_many_for_actor(ticket_ids=ticket_ids, actor=actor)
        if assignee is not None:
            if not assignee.is_active:
                raise ActionNotAllowed(_("Cet agent n'est plus actif."))
            if not assignee.is_supervisor:
                allowed = set(
                    Queue.members.through.objects.filter(user_id=assignee.pk).values_list(
                        "queue_id", flat=True
                    )
                )
                outside = [t.reference for t in locked if t.queue_id not in allowed]
                if outside:
                    raise ActionNotAllowed(
                        _("%(name)s ne fait pas partie de la file de : %(refs)s.")
                        % {"name": assignee, "refs": ", ".join(outside)}
                    )
        closed = [t.reference for t in locked if not t.is_open]
        if closed:
            raise ActionNotAllowed(
                _("Tickets résolus ou clos, non réassignables : %(refs)s.")
                % {"refs": ", ".join(closed)}
            )
        now = timezone.now()
        target = assignee.pk if assignee else None
        for ticket in locked:
            if ticket.assignee_id != target:
                _set_assignee(ticket, actor=actor, assignee=assignee, now=now)
    return locked


def ticket_bulk_change_status(*, ticket_ids: list[int], actor, new_status: str) -> list[Ticket]:
    """Change the status of several tickets at once: one transaction, one timeline event
    per ticket. A transition the state machine refuses for any ticket refuses the batch."""
    if new_status not in Status.values:
        raise InvalidTransition(_("Statut inconnu."))
    with transaction.atomic():
        locked = _lock_many_for_actor(ticket_ids=ticket_ids, actor=actor)
        now = timezone.now()
        for ticket in locked:
            if ticket.status == new_status:
                continue
            old_status = ticket.status
            fields = _apply_status(ticket, new_status, now)
            ticket.version += 1
            ticket.save(update_fields=[*fields, "version", "updated_at"])
            ticket_event_record(
                ticket=ticket,
                kind=EventKind.STATUS_CHANGED,
                actor=actor,
                data={"before": old_status, "after": new_status, "bulk": True},
            )
    return locked


# Routing rules and queue membership, edited by supervisors. A target longer than this is
# a typing mistake (a year of business days is about 1,600 hours).
ROUTING_MAX_HOURS = 2000
ROUTING_RULE_FIELDS = ("queue", "priority", "first_response_hours", "resolution_hours", "is_active")


def _require_supervisor(actor) -> None:
    if not (actor.is_active and actor.is_supervisor):
        raise ActionNotAllowed(_("Seuls les superviseurs peuvent modifier le routage."))


def _audit_value(value):
    return value.slug if isinstance(value, Queue) else value


def _routing_rule_errors(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("first_response_hours", "resolution_hours"):
        hours = values[name]
        if isinstance(hours, bool) or not isinstance(hours, int):
            errors[name] = [_("Saisissez un nombre entier d'heures ouvrées.")]
        elif hours < 1:
            errors[name] = [_("Le délai doit être d'au moins 1 heure ouvrée.")]
        elif hours > ROUTING_MAX_HOURS:
            errors[name] = [
                _("Le délai ne peut pas dépasser %(max)s heures ouvrées.")
                % {"max": ROUTING_MAX_HOURS}
            ]
    if not errors and values["resolution_hours"] < values["first_response_hours"]:
        errors["resolution_hours"] = [
            _("Le délai de résolution ne peut pas être plus court que celui de première réponse.")
        ]
    if values["priority"] not in Priority.values:
        errors["priority"] = [_("Choisissez une priorité de la liste.")]
    if not isinstance(values["queue"], Queue) or values["queue"].pk is None:
        errors["queue"] = [_("Choisissez une file existante.")]
    if not isinstance(values["is_active"], bool):
        errors["is_active"] = [_("Valeur invalide.")]
    return errors


def routing_rule_update(*, rule: RoutingRule, actor, **values) -> RoutingRule:
    """Change a routing rule (queue, priority, SLA targets in business hours, active) and
    record who changed what. The next request of that motif is routed by the new values;
    tickets already open keep theirs. Raises ``ValidationError`` (French messages, keyed
    by field) when a value is refused, ``ActionNotAllowed`` for a non-supervisor."""
    from django.core.exceptions import ValidationError

    from .models import RoutingChange, RoutingChangeKind

    _require_supervisor(actor)
    unknown = set(values) - set(ROUTING_RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown routing rule fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        merged = {name: values.get(name, getattr(locked, name)) for name in ROUTING_RULE_FIELDS}
        errors = _routing_rule_errors(merged)
        if errors:
            raise ValidationError(errors)
        changes = {}
        for name in ROUTING_RULE_FIELDS:
            before, after = getattr(locked, name), merged[name]
            if before != after:
                changes[name] = [_audit_value(before), _audit_value(after)]
                setattr(locked, name, after)
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
            RoutingChange.objects.create(
                kind=RoutingChangeKind.RULE_UPDATED,
                actor=actor,
                rule=locked,
                queue=locked.queue,
                data={"motif": locked.motif, "changes": changes},
                created_at=timezone.now(),
            )
    if changes:
        logger.info("Routing rule %s changed by %s: %s", locked.motif, actor.pk, sorted(changes))
    return locked


def queue_members_set(*, queue: Queue, actor, user_ids) -> dict[str, list[int]]:
    """Make ``user_ids`` the agents of ``queue`` (adding and removing the difference) and
    record who changed what. An agent sees a queue's tickets only while a member."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from .models import RoutingChange, RoutingChangeKind

    _require_supervisor(actor)
    wanted = {int(pk) for pk in user_ids}
    users = get_user_model().objects.filter(pk__in=wanted, is_active=True)
    found = set(users.values_list("pk", flat=True))
    if found != wanted:
        raise ValidationError(
            {"members": [_("Un des agents choisis n'existe pas ou n'est plus actif.")]}
        )
    with transaction.atomic():
        # Lock the queue row: two supervisors saving at once apply one after the other.
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        current = set(locked.members.values_list("pk", flat=True))
        added, removed = sorted(wanted - current), sorted(current - wanted)
        if added:
            locked.members.add(*added)
        if removed:
            locked.members.remove(*removed)
        if added or removed:
            RoutingChange.objects.create(
                kind=RoutingChangeKind.QUEUE_MEMBERS_SET,
                actor=actor,
                queue=locked,
                data={
                    "queue": locked.slug,
                    "added": added,
                    "removed": removed,
                    # E-mail addresses as they were: the history stays readable later.
                    "emails": dict(
                        get_user_model()
                        .objects.filter(pk__in=[*added, *removed])
                        .values_list("pk", "email")
                    ),
                },
                created_at=timezone.now(),
            )
    return {"added": added, "removed": removed}


__all__ = [
    "IntakeResult",
    "Motif",
    "assistance_request_submit",
    "queue_members_set",
    "route_for_motif",
    "routing_rule_update",
    "ticket_assign",
    "ticket_bulk_assign",
    "ticket_bulk_change_status",
    "ticket_change_status",
    "ticket_claim",
    "ticket_event_record",
    "ticket_note_add",
    "ticket_reply",
    "ticket_take_next",
]
