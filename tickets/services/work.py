"""An agent's work on tickets: the status machine, assignment (claim, assign, take next),
internal notes, replies to the requester, and their bulk forms.

Every function takes the acting user, runs in one transaction, locks the ticket row and
checks the access rule under the lock (``tickets.access``), writes its timeline events in
that transaction and sends e-mails only on commit (the outbox).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from worker.services import email_queue
from worker.transitions import transition

from .. import access
from ..canned import followup_placeholder_split
from ..exceptions import (
    ActionNotAllowed,
    InvalidTransition,
    NoTicketAvailable,
    StaleTicket,
    TicketNotFound,
)
from ..followup import followup_link_for_email
from ..models import (
    OPEN_STATUSES,
    STATUS_TRANSITIONS,
    CannedReply,
    DocumentKind,
    EventKind,
    MessageKind,
    Queue,
    Status,
    Ticket,
    TicketMessage,
)
from .events import ticket_event_record
from .sla import sla_pause_values, sla_resume_values

if TYPE_CHECKING:
    from accounts.staff.models import User

BULK_MAX = 200


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise StaleTicket(
            _(
                "Ce ticket a été modifié par quelqu'un d'autre entre-temps. "
                "Rechargez la page pour voir la version actuelle."
            )
        )


def _refused(reference: str) -> Any:
    def build(source: str, target: str) -> InvalidTransition:
        return InvalidTransition(
            _("Impossible de passer le ticket %(ref)s de « %(old)s » à « %(new)s ».")
            % {"ref": reference, "old": Status(source).label, "new": Status(target).label}
        )

    return build


def _status_values(locked: Ticket, new_status: str, now: datetime) -> dict:
    """The fields that change with a move to ``new_status`` (resolution and closing
    stamps, the SLA clock), besides the status itself."""
    values: dict = {}
    if new_status == Status.RESOLU:
        values["resolved_at"] = now
    elif new_status == Status.CLOS:
        values["closed_at"] = now
    elif locked.status == Status.RESOLU:
        # Reopened: the earlier resolution no longer counts.
        values["resolved_at"] = None
    if new_status == Status.EN_ATTENTE:
        values.update(sla_pause_values(locked, now))
    elif locked.status == Status.EN_ATTENTE:
        values.update(sla_resume_values(locked, now))
    return values


def _status_transition(locked: Ticket, *, new_status: str, now: datetime, **values: Any) -> None:
    """Write the move of a locked ticket to ``new_status`` with its stamps and ``values``,
    bumping its version; no timeline event."""
    old_status = locked.status
    if new_status not in STATUS_TRANSITIONS[old_status]:
        raise _refused(locked.reference)(old_status, new_status)
    transition(
        locked,
        to=new_status,
        table=STATUS_TRANSITIONS,
        field="status",
        refused=_refused(locked.reference),
        version=locked.version + 1,
        updated_at=now,
        **{**_status_values(locked, new_status, now), **values},
    )


def ticket_status_move(
    locked: Ticket,
    *,
    new_status: str,
    actor: User | None,
    now: datetime | None = None,
    event_data: dict | None = None,
) -> None:
    """Move a locked ticket along the state machine (``tickets.models.STATUS_TRANSITIONS``)
    with its stamps, bump its version and record the event. For the services of this
    package and of the apps above (which hold the lock)."""
    old_status = locked.status
    _status_transition(locked, new_status=new_status, now=now or timezone.now())
    ticket_event_record(
        ticket=locked,
        kind=EventKind.STATUS_CHANGED,
        actor=actor,
        data={"before": old_status, "after": new_status, **(event_data or {})},
    )


def ticket_change_status(
    *,
    ticket: Ticket,
    actor: User | None,
    new_status: str,
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket along the state machine declared in ``tickets.models``. ``actor``
    None: the system (the reassignment's worker step)."""
    if new_status not in Status.values:
        raise InvalidTransition(_("Statut inconnu."))
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        _check_version(locked, expected_version)
        ticket_status_move(locked, new_status=new_status, actor=actor)
    return locked


def _check_assignee(*, assignee: User | None, queue_id: int) -> None:
    if assignee is None:
        return
    if not assignee.is_active:
        raise ActionNotAllowed(_("Cet agent n'est plus actif."))
    if not access.can_see_queue(assignee, queue_id, fresh=True):
        raise ActionNotAllowed(
            _("%(name)s ne fait pas partie de la file de ce ticket.") % {"name": assignee}
        )


def _set_assignee(
    locked: Ticket,
    *,
    actor: User,
    assignee: User | None,
    now: datetime,
) -> None:
    """Record the assignment change of ``locked`` (already checked) and, when an agent
    takes a new ticket, start it ("en cours"). ``locked.assignee_id`` is the assignee
    before the change (for take-next, the value read before its conditional UPDATE)."""
    before = locked.assignee_id
    old_status = locked.status
    starts = assignee is not None and old_status == Status.NOUVEAU
    if starts:
        _status_transition(locked, new_status=Status.EN_COURS, now=now, assignee=assignee)
    else:
        locked.assignee = assignee
        locked.version += 1
        locked.save(update_fields=["assignee", "version", "updated_at"])
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
    if starts:
        ticket_event_record(
            ticket=locked,
            kind=EventKind.STATUS_CHANGED,
            actor=actor,
            data={"before": old_status, "after": locked.status},
        )


def ticket_assign(
    *,
    ticket: Ticket,
    actor: User,
    assignee: User | None,
    expected_version: int | None = None,
) -> Ticket:
    """Give the ticket to ``assignee`` (a member of its queue, or a supervisor), or take it
    back to the unassigned pile when ``assignee`` is None."""
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        _check_version(locked, expected_version)
        if not locked.is_open:
            raise ActionNotAllowed(_("Un ticket résolu ou clos ne peut pas être réassigné."))
        _check_assignee(assignee=assignee, queue_id=locked.queue_id)
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        _set_assignee(locked, actor=actor, assignee=assignee, now=timezone.now())
    return locked


def ticket_claim(*, ticket: Ticket, actor: User, expected_version: int | None = None) -> Ticket:
    """The actor takes an unassigned ticket of one of its queues. A ticket someone else
    already holds is refused, not taken over."""
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        _check_version(locked, expected_version)
        if locked.assignee_id == actor.pk:
            return locked
        if locked.assignee_id is not None:
            raise ActionNotAllowed(_("Ce ticket est déjà assigné à un autre agent."))
        if not locked.is_open:
            raise ActionNotAllowed(_("Un ticket résolu ou clos ne peut pas être pris."))
        _set_assignee(locked, actor=actor, assignee=actor, now=timezone.now())
    return locked


def ticket_take_next(*, queue: Queue, actor: User) -> Ticket:
    """Give the actor the next unassigned open ticket of ``queue``: highest priority first,
    then the oldest.

    Several agents asking at once each get a different ticket: on PostgreSQL the candidate
    row is locked with ``SKIP LOCKED``, so a second agent skips a row the first is taking
    instead of waiting for it and then finding it taken. SQLite serialises write
    transactions, so there the first agent's transaction has committed before the second
    one reads. The conditional UPDATE is a last guard on both.
    """
    if not access.can_see_queue(actor, queue.pk, fresh=True):
        raise TicketNotFound(str(access.QUEUE_NOT_FOUND))
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
            # ``ticket`` was read before the UPDATE: its assignee_id is still None.
            _set_assignee(ticket, actor=actor, assignee=actor, now=timezone.now())
            return ticket
    raise NoTicketAvailable(_("Aucun ticket à prendre dans cette file."))


def ticket_note_add(*, ticket: Ticket, actor: User, body: str) -> TicketMessage:
    """An internal note: seen by agents only, never sent. Does not change the ticket's
    version (a note never conflicts with a colleague's edit)."""
    body = (body or "").strip()
    if not body:
        raise ActionNotAllowed(_("La note est vide."))
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
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


def _reply(
    locked: Ticket, *, actor: User, body: str, requested_documents: list[str] | None = None
) -> TicketMessage:
    """Store a reply on a locked ticket, stamp the first response, bump the version, queue
    the e-mail (with a new follow-up link) and record the event. A ``{lien_de_suivi}`` in
    ``body`` becomes the requester's link in the e-mail (``tickets.canned``)."""
    if locked.status == Status.CLOS:
        raise ActionNotAllowed(_("Ce ticket est clos : il n'est plus possible d'y répondre."))
    now = timezone.now()
    stored, body_parts = followup_placeholder_split(body)
    message = TicketMessage.objects.create(
        ticket=locked,
        kind=MessageKind.REPLY,
        author=actor,
        body=stored,
        created_at=now,
        requested_documents=requested_documents or None,
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
            "body": stored,
            # The e-mail's text around {lien_de_suivi}, when the reply names it.
            "body_parts": body_parts,
            "requested_documents": [
                str(DocumentKind(kind).label) for kind in requested_documents or ()
            ],
            "secret_link": followup_link_for_email(ticket=locked),
        },
    )
    ticket_event_record(
        ticket=locked,
        kind=EventKind.REPLY_SENT,
        actor=actor,
        data={"message_id": message.pk, "email_id": email.pk, "to": locked.email},
    )
    return message


# What "Répondre et …" may set with the reply (``ticket_reply``'s ``then_status``).
REPLY_THEN_STATUSES = (Status.EN_ATTENTE, Status.RESOLU)


def _canned_reply_used(locked: Ticket, canned_reply_id: int) -> None:
    """Count a use of the canned reply the agent inserted: one of the ticket's queue (and
    of its motif, or of every motif), else the whole reply is refused."""
    offered = CannedReply.objects.filter(
        pk=canned_reply_id, queue_id=locked.queue_id, motif__in=["", locked.motif]
    )
    if not offered.update(usage_count=F("usage_count") + 1):
        raise ActionNotAllowed(
            _(
                "Cette réponse type n'est pas proposée pour ce ticket (autre file ou autre "
                "motif) : votre texte est conservé, envoyez-le sans elle."
            ),
            field="canned_reply",
        )


def ticket_reply(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    expected_version: int | None = None,
    then_status: str | None = None,
    canned_reply_id: int | None = None,
) -> TicketMessage:
    """A reply to the requester: stored, put on the timeline, and e-mailed by the worker
    once the transaction commits (the reference is in the subject, and a personal
    follow-up link in the body). The first reply stamps the first-response time.

    ``then_status`` ("Répondre et mettre en attente", "Répondre et résoudre"): the ticket
    moves to that status in the same transaction; a move the state machine refuses
    refuses the reply too (nothing saved, nothing sent, nobody assigned). A ticket already
    there stays.

    Assignee: a reply that moves a ticket nobody holds to another status assigns it to the
    actor first, as ``ticket_claim`` does (the same "assigned" event, and a new ticket
    starts: "nouveau" → "en cours"), so that no ticket is resolved or set waiting with no
    agent accountable for it (the per-agent figures count assignees). A ticket someone
    holds keeps its assignee, whoever replies. A plain reply, or one to a ticket already in
    ``then_status``, changes no assignee: the product design does not say that a reply
    takes a ticket, and a colleague's quick answer should not take it out of the
    unassigned pile. Whoever may reply may be assigned: ``ticket_lock_for`` checks the
    rule ``_check_assignee`` applies (an active user who works on the ticket's queue; a
    supervisor works on every queue), so a supervisor outside the queue's members is
    assigned, as its claim would be, and no reply allowed before is refused now.

    ``canned_reply_id``: the canned reply the text was built from, counted."""
    body = (body or "").strip()
    if not body:
        raise ActionNotAllowed(_("La réponse est vide."), field="body")
    if then_status is not None and then_status not in REPLY_THEN_STATUSES:
        raise InvalidTransition(_("Statut inconnu."))
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        _check_version(locked, expected_version)
        # The status the reply moves the ticket to, if any (read before the claim below
        # starts a new ticket).
        target = then_status if then_status != locked.status else None
        if target is not None and target not in STATUS_TRANSITIONS[locked.status]:
            raise _refused(locked.reference)(locked.status, target)
        if canned_reply_id is not None:
            _canned_reply_used(locked, canned_reply_id)
        if target is not None and locked.assignee_id is None:
            # Only open statuses reach "en attente" or "résolu", so the ticket is open, as
            # ``ticket_claim`` requires; no ``_check_assignee`` either: the lock above
            # already checked the same rule for the actor.
            _set_assignee(locked, actor=actor, assignee=actor, now=timezone.now())
        message = _reply(locked, actor=actor, body=body)
        if target is not None:
            ticket_status_move(locked, new_status=target, actor=actor)
    return message


def ticket_request_documents(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    kinds: Collection[str],
    expected_version: int | None = None,
) -> TicketMessage:
    """Case 2.1: a reply that asks the requester for documents (``DocumentKind`` values),
    listed in the e-mail and on the follow-up page; the ticket then waits on the requester
    (its SLA clock paused) when its status allows it. A ticket nobody holds that the
    request sets waiting is first assigned to the actor, as with ``ticket_reply``'s
    "Répondre et mettre en attente" (see there)."""
    body = (body or "").strip()
    wanted = [kind for kind in DocumentKind.values if kind in set(kinds)]
    if not body:
        raise ActionNotAllowed(_("La réponse est vide."))
    if not wanted:
        raise ActionNotAllowed(_("Cochez au moins un document à demander."))
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        _check_version(locked, expected_version)
        waits = (
            locked.status != Status.EN_ATTENTE and Status.EN_ATTENTE in locked.allowed_transitions()
        )
        if waits and locked.assignee_id is None:
            _set_assignee(locked, actor=actor, assignee=actor, now=timezone.now())
        message = _reply(locked, actor=actor, body=body, requested_documents=wanted)
        ticket_event_record(
            ticket=locked,
            kind=EventKind.DOCUMENTS_REQUESTED,
            actor=actor,
            data={"message_id": message.pk, "kinds": wanted},
        )
        if waits:
            ticket_status_move(locked, new_status=Status.EN_ATTENTE, actor=actor)
    return message


def ticket_mark_read(*, ticket: Ticket, actor: User) -> bool:
    """The requester's latest answer is read: by the assigned agent, or, while nobody is
    assigned, by an agent of the ticket's queue. One conditional UPDATE, only when the
    ticket is unread."""
    if ticket.requester_unread_at is None:
        return False
    if ticket.assignee_id is not None and ticket.assignee_id != actor.pk:
        return False
    if ticket.assignee_id is None and (
        actor.is_supervisor or not access.can_see_queue(actor, ticket.queue_id)
    ):
        return False
    cleared = Ticket.objects.filter(pk=ticket.pk, requester_unread_at__isnull=False).update(
        requester_unread_at=None
    )
    ticket.requester_unread_at = None
    return bool(cleared)


def _lock_many(*, ticket_ids: Iterable[int], actor: User) -> list[Ticket]:
    ids = {int(i) for i in ticket_ids}
    if not ids:
        raise ActionNotAllowed(_("Aucun ticket sélectionné."))
    if len(ids) > BULK_MAX:
        raise ActionNotAllowed(_("Au plus %(max)s tickets à la fois.") % {"max": BULK_MAX})
    # All or nothing: one id outside the actor's queues refuses the whole batch.
    return access.tickets_lock_for(actor, pks=ids)


def ticket_bulk_assign(
    *, ticket_ids: Iterable[int], actor: User, assignee: User | None
) -> list[Ticket]:
    """Assign (or unassign, with None) several tickets at once: one transaction, one
    timeline event per ticket that changed. Any ticket that cannot be given to
    ``assignee`` refuses the whole batch."""
    with transaction.atomic():
        locked = _lock_many(ticket_ids=ticket_ids, actor=actor)
        if assignee is not None:
            if not assignee.is_active:
                raise ActionNotAllowed(_("Cet agent n'est plus actif."))
            outside = [
                t.reference
                for t in locked
                if not access.can_see_queue(assignee, t.queue_id, fresh=True)
            ]
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


def ticket_bulk_change_status(
    *, ticket_ids: Iterable[int], actor: User, new_status: str
) -> list[Ticket]:
    """Change the status of several tickets at once: one transaction, one timeline event
    per ticket. A transition the state machine refuses for any ticket refuses the batch."""
    if new_status not in Status.values:
        raise InvalidTransition(_("Statut inconnu."))
    with transaction.atomic():
        locked = _lock_many(ticket_ids=ticket_ids, actor=actor)
        now = timezone.now()
        for ticket in locked:
            if ticket.status != new_status:
                ticket_status_move(
                    ticket, new_status=new_status, actor=actor, now=now, event_data={"bulk": True}
                )
    return locked
