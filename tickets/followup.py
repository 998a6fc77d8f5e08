"""The requester's follow-up links (DESIGN.md section 10): a personal link in the
acknowledgement and in every reply e-mail, to a public page where the requester follows
the request, answers and sends documents.

Rules kept here, each tested in tests/tickets/test_followup_links.py:

* the raw token (``secrets.token_urlsafe(32)``: 256 bits) is drawn by the worker when it
  sends the e-mail (``followup_link_issue``, registered as the ``followup`` secret-link
  issuer of the outbox), and only its SHA-256 is stored: the token is in no database row,
  no outbox row and no log;
* a link is bound to one ticket and works many times, while the ticket is open and
  ``FOLLOWUP_LINK_DAYS_AFTER_CLOSE`` days after it is resolved or closed;
* an agent revokes the links of a ticket by sending a new one (``followup_link_renew``);
* links are built from ``settings.SITE_BASE_URL``, never from the request's Host header;
  the landing URL (``/suivi/<token>/``) only puts the token's hash in the session and
  redirects to the token-free page.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.staff.models import secret_digest
from worker.services import email_queue

from . import access
from .exceptions import ActionNotAllowed
from .models import (
    DocumentKind,
    DocumentStatus,
    EventKind,
    FollowUpLink,
    MessageKind,
    Status,
    Ticket,
    TicketDocument,
    TicketMessage,
)
from .services.events import ticket_event_record

if TYPE_CHECKING:
    from accounts.staff.models import User

logger = logging.getLogger(__name__)

# The secret-link kind of the outbox (worker.hooks) whose issuer is ``followup_link_issue``.
LINK_KIND = "followup"
# The URL name of the landing page (backoffice.public.urls): ``/suivi/<token>/``.
LANDING_URL_NAME = "followup_landing"

token_digest = secret_digest


def link_window_end(ticket: Ticket) -> datetime | None:
    """Until when the links of ``ticket`` work: None while it is open (no end yet);
    otherwise ``FOLLOWUP_LINK_DAYS_AFTER_CLOSE`` days after its closing (or, for a resolved
    ticket, its resolution)."""
    if ticket.is_open:
        return None
    ended = ticket.closed_at if ticket.status == Status.CLOS else ticket.resolved_at
    ended = ended or ticket.updated_at
    return ended + timedelta(days=settings.FOLLOWUP_LINK_DAYS_AFTER_CLOSE)


def ticket_followable(ticket: Ticket, *, now: datetime | None = None) -> bool:
    """Whether the follow-up page of ``ticket`` may still be shown."""
    if ticket.anonymized_at is not None:
        return False
    end = link_window_end(ticket)
    return end is None or (now or timezone.now()) < end


def followup_link_for_email(*, ticket: Ticket, actor: User | None = None) -> dict:
    """A new link row for an e-mail about to be queued for ``ticket``; returns the
    ``secret_link`` spec to put in the e-mail's context. The token is drawn at send time."""
    link = FollowUpLink.objects.create(ticket=ticket, created_at=timezone.now(), created_by=actor)
    return followup_link_spec(link.pk)


def followup_link_spec(link_id: int) -> dict:
    """The ``secret_link`` spec of an e-mail carrying the link row ``link_id`` (a row
    written by ``followup_link_for_email``, or by intake's single statement)."""
    return {"kind": LINK_KIND, "id": link_id}


# --- Hooks called by the worker when it sends an e-mail that carries a follow-up link ---


def followup_link_issue(*, spec: dict) -> dict:
    """Draw a fresh token for the link of ``spec``, store its hash, and return the extra
    template context (``followup_url``). A link revoked before its e-mail left gets no
    token: the e-mail (an acknowledgement, a reply) still goes, without the link.

    Called for each attempt: a retried send gets a new token, which voids the one of the
    attempt that failed."""
    raw = secrets.token_urlsafe(32)
    issued = FollowUpLink.objects.filter(
        pk=int(spec.get("id") or 0), revoked_at__isnull=True
    ).update(token_hash=token_digest(raw))
    if not issued:
        return {"followup_url": "", "followup_revoked": True}
    path = reverse(LANDING_URL_NAME, args=[raw])
    return {
        "followup_url": f"{settings.SITE_BASE_URL}{path}",
        "followup_days_after_close": settings.FOLLOWUP_LINK_DAYS_AFTER_CLOSE,
    }


def followup_link_sent(*, spec: dict) -> None:
    """Record that the e-mail carrying the link left (in the worker's transaction)."""
    FollowUpLink.objects.filter(pk=int(spec.get("id") or 0), sent_at__isnull=True).update(
        sent_at=timezone.now()
    )


# --- Using links ------------------------------------------------------------------------


def followup_link_find(*, token_hash: str) -> FollowUpLink | None:
    """The link (with its ticket) that ``token_hash`` opens, if it still works."""
    if not token_hash:
        return None
    link = (
        FollowUpLink.objects.select_related("ticket")
        .filter(token_hash=token_hash, revoked_at__isnull=True)
        .first()
    )
    if link is None or not ticket_followable(link.ticket):
        return None
    return link


def followup_link_land(*, token_hash: str) -> FollowUpLink | None:
    """A requester opened the link: the link if it works (its last use recorded), else
    None."""
    link = followup_link_find(token_hash=token_hash)
    if link is not None:
        FollowUpLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    return link


# --- Agents ---------------------------------------------------------------------------------


def followup_link_renew(*, ticket: Ticket, actor: User) -> FollowUpLink:
    """ "Renvoyer un nouveau lien": every link of the ticket stops working and a new one
    goes to the requester's address."""
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        if not ticket_followable(locked):
            raise ActionNotAllowed(
                _(
                    "Cette demande est close depuis plus de %(days)s jours : son espace de suivi "
                    "n'est plus accessible."
                )
                % {"days": settings.FOLLOWUP_LINK_DAYS_AFTER_CLOSE}
            )
        now = timezone.now()
        revoked = FollowUpLink.objects.filter(ticket=locked, revoked_at__isnull=True).update(
            revoked_at=now
        )
        spec = followup_link_for_email(ticket=locked, actor=actor)
        email = email_queue(
            template="ticket_followup_link",
            to_email=locked.email,
            ticket_id=locked.pk,
            context={
                "reference": locked.reference,
                "requester_name": locked.requester_name,
                "secret_link": spec,
            },
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.FOLLOWUP_LINK_RENEWED,
            actor=actor,
            data={"link_id": spec["id"], "revoked": revoked, "email_id": email.pk},
        )
    logger.info("Follow-up links of ticket %s renewed (%s revoked).", locked.reference, revoked)
    return FollowUpLink.objects.get(pk=spec["id"])


# --- The requester's page -------------------------------------------------------------------

# The status as the requester reads it.
PUBLIC_STATUS = {
    Status.NOUVEAU: _lazy("Reçue, en attente de prise en charge"),
    Status.EN_COURS: _lazy("En cours de traitement"),
    Status.EN_ATTENTE: _lazy("En attente de votre réponse"),
    Status.RESOLU: _lazy("Traitée"),
    Status.CLOS: _lazy("Close"),
}


@dataclass(frozen=True)
class ExpectedDocument:
    kind: str
    label: str
    received: list[TicketDocument]


@dataclass(frozen=True)
class FollowUpPage:
    ticket: Ticket
    status_label: str
    messages: list[TicketMessage]
    documents: list[TicketDocument]
    expected: list[ExpectedDocument]
    can_reply: bool
    available_until: datetime | None


def followup_page(*, ticket: Ticket) -> FollowUpPage:
    """What the requester sees: the request, the agents' replies (signed by the team, never
    by an agent's name), the requester's own answers, never an internal note; the
    documents sent with their status; the documents asked for and which arrived. Two
    queries."""
    messages = list(
        TicketMessage.objects.filter(ticket_id=ticket.pk)
        # Internal notes, and repeated requests (anyone who knows the SIRET, the motif
        # and the address can send one): not the requester's exchanges with the agents.
        .exclude(kind__in=[MessageKind.NOTE, MessageKind.REPEATED_REQUEST])
        .only("pk", "kind", "body", "created_at", "requested_documents")
        .order_by("created_at", "id")
    )
    documents = list(
        TicketDocument.objects.filter(ticket_id=ticket.pk, erased_at__isnull=True).order_by(
            "created_at", "id"
        )
    )
    by_message: dict[int, list[TicketDocument]] = {}
    for document in documents:
        if document.message_id is not None:
            by_message.setdefault(document.message_id, []).append(document)
    for message in messages:
        message.attached = by_message.get(message.pk, [])  # type: ignore[attr-defined]
    expected = [
        ExpectedDocument(
            kind=kind,
            label=str(DocumentKind(kind).label),
            received=[
                d for d in documents if d.kind == kind and d.status == DocumentStatus.RECEIVED
            ],
        )
        for kind in expected_kinds(messages)
    ]
    return FollowUpPage(
        ticket=ticket,
        status_label=str(PUBLIC_STATUS.get(Status(ticket.status), ticket.status)),
        messages=messages,
        documents=documents,
        expected=expected,
        can_reply=ticket.status != Status.CLOS and ticket_followable(ticket),
        available_until=link_window_end(ticket),
    )


def expected_kinds(messages: list[TicketMessage]) -> list[str]:
    """The documents the latest reply asking for some listed (``DocumentKind`` values)."""
    expected: list[str] = []
    for message in messages:
        if message.requested_documents:
            expected = [k for k in message.requested_documents if k in DocumentKind.values]
    return expected
