"""What the requester sends: an answer with documents from the follow-up page, or
documents through the extranet's API.

The requester is not a back-office user: these services take no actor (the timeline
shows the requester) and are reached only through a working follow-up link or the
extranet's API key. Each runs in one transaction on the locked ticket: the message, the
documents, their timeline events, the status (a ticket that waited on the requester, or
was resolved, is open again, and its SLA pause ends) and the "unread" mark for the
agents. Files are written to the storage before that transaction and deleted if it fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..documents import (
    IncomingDocument,
    documents_check,
    documents_record,
    documents_store,
    storage_delete,
)
from ..exceptions import RequesterReplyRefused, TicketNotFound
from ..followup import ticket_followable
from ..models import (
    DocumentSource,
    EventKind,
    FollowUpLink,
    MessageKind,
    Status,
    Ticket,
    TicketDocument,
    TicketMessage,
)
from .events import ticket_event_record
from .work import ticket_status_move

BODY_MAX = 5000


@dataclass(frozen=True)
class RequesterContribution:
    ticket: Ticket
    message: TicketMessage | None
    documents: list[TicketDocument]


def _closed_message() -> str:
    return _(
        "Cette demande est close : il n'est plus possible d'y répondre. Pour une nouvelle "
        "question, déposez une demande d'assistance."
    )


def _receive(
    *,
    ticket_id: int,
    link_id: int | None,
    body: str,
    incoming: Iterable[IncomingDocument],
    source: str,
) -> RequesterContribution:
    body = (body or "").strip()
    if len(body) > BODY_MAX:
        raise RequesterReplyRefused(
            _("Le message est trop long (%(max)s caractères au plus).") % {"max": BODY_MAX},
            field="body",
        )
    checked = documents_check(incoming)
    if not body and not checked:
        raise RequesterReplyRefused(
            _("Écrivez un message ou joignez au moins un document."), field="body"
        )
    stored = documents_store(ticket_id=ticket_id, checked=checked)
    try:
        with transaction.atomic():
            locked = access.ticket_lock_for(None, pk=ticket_id)
            if (
                link_id is not None
                and not FollowUpLink.objects.filter(
                    pk=link_id, ticket_id=ticket_id, revoked_at__isnull=True
                ).exists()
            ):
                raise RequesterReplyRefused(_("Ce lien de suivi n'est plus valable."))
            if locked.status == Status.CLOS or not ticket_followable(locked):
                raise RequesterReplyRefused(_closed_message())
            now = timezone.now()
            message = None
            if body or source == DocumentSource.FOLLOWUP:
                message = TicketMessage.objects.create(
                    ticket=locked, kind=MessageKind.REQUESTER_REPLY, body=body, created_at=now
                )
            documents = documents_record(
                locked=locked,
                checked=checked,
                stored=stored,
                source=source,
                message=message,
                now=now,
            )
            if message is not None:
                ticket_event_record(
                    ticket=locked,
                    kind=EventKind.REQUESTER_REPLIED,
                    data={"message_id": message.pk, "documents": len(documents), "via": source},
                )
            # The ball is back with the agents: a ticket that waited on the requester (its
            # SLA pause ends here) or that was resolved is open again.
            if locked.status in (Status.EN_ATTENTE, Status.RESOLU):
                ticket_status_move(
                    locked,
                    new_status=Status.EN_COURS,
                    actor=None,
                    now=now,
                    event_data={"by_requester": True},
                )
            else:
                Ticket.objects.filter(pk=locked.pk).update(version=F("version") + 1, updated_at=now)
            Ticket.objects.filter(pk=locked.pk, requester_unread_at__isnull=True).update(
                requester_unread_at=now
            )
    except Exception:
        storage_delete(stored)
        raise
    return RequesterContribution(ticket=locked, message=message, documents=documents)


def followup_reply(
    *, link: FollowUpLink, body: str, documents: Iterable[IncomingDocument] = ()
) -> RequesterContribution:
    """The requester answers from the follow-up page opened with ``link``: a message
    (may be empty when documents come with it) and up to ``DOCUMENTS_PER_MESSAGE`` files."""
    return _receive(
        ticket_id=link.ticket_id,
        link_id=link.pk,
        body=body,
        incoming=documents,
        source=DocumentSource.FOLLOWUP,
    )


def api_documents_receive(
    *, reference: str, documents: Iterable[IncomingDocument]
) -> RequesterContribution:
    """The extranet sends documents for a request it filed (the intake's reference)."""
    ticket = Ticket.objects.filter(reference=reference).only("pk").first()
    if ticket is None:
        raise TicketNotFound(_("Aucune demande ne porte cette référence."))
    return _receive(
        ticket_id=ticket.pk, link_id=None, body="", incoming=documents, source=DocumentSource.API
    )
