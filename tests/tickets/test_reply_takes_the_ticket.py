""" "Répondre et résoudre" / "Répondre et mettre en attente" on a ticket nobody holds: the
agent who replies takes it first, as a claim would, so that a resolved ticket always has an
accountable agent. A plain reply takes nothing; a held ticket keeps its assignee; a refused
reply assigns nobody. The service first, then the ticket page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tests.factories import TicketFactory, UserFactory
from tickets.exceptions import InvalidTransition
from tickets.models import DocumentKind, EventKind, MessageKind, Status
from tickets.services import (
    ticket_change_status,
    ticket_claim,
    ticket_reply,
    ticket_request_documents,
)
from worker.models import OutboxJob

pytestmark = pytest.mark.django_db


def events(ticket):
    return [(e.kind, e.data.get("after")) for e in ticket.events.order_by("created_at", "id")]


@pytest.mark.parametrize("then", [Status.RESOLU, Status.EN_ATTENTE])
def test_reply_and_move_a_new_ticket_assigns_it_to_the_agent_first(agent, then):
    ticket = TicketFactory()
    assert ticket.assignee is None and ticket.status == Status.NOUVEAU and ticket.version == 1
    message = ticket_reply(
        ticket=ticket,
        actor=agent,
        body="Bonjour, c'est fait.",
        expected_version=1,
        then_status=then,
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == then
    # The claim's events (assigned, then the start "nouveau → en cours"), the reply, then the
    # move the agent asked for.
    assert events(ticket) == [
        (EventKind.ASSIGNED, agent.pk),
        (EventKind.STATUS_CHANGED, Status.EN_COURS),
        (EventKind.REPLY_SENT, None),
        (EventKind.STATUS_CHANGED, then),
    ]
    assigned = ticket.events.get(kind=EventKind.ASSIGNED)
    assert assigned.actor == agent
    assert assigned.data == {"before": None, "after": agent.pk, "assignee": str(agent)}
    assert all(e.actor == agent for e in ticket.events.all())
    # One bump per write (claim, reply, move), and the ticket the caller holds agrees with
    # the row.
    assert ticket.version == 4
    assert message.ticket.version == ticket.version
    assert message.ticket.assignee_id == agent.pk and message.ticket.status == then


@pytest.mark.parametrize("status", [Status.EN_COURS, Status.EN_ATTENTE])
def test_reply_and_resolve_a_started_unassigned_ticket_assigns_it_without_restarting_it(
    agent, status
):
    # E.g. a ticket its agent gave back to the queue, or an unassigned one waiting on the
    # requester.
    ticket = TicketFactory(status=status, version=5)
    ticket_reply(
        ticket=ticket, actor=agent, body="Réglé.", expected_version=5, then_status=Status.RESOLU
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Status.RESOLU and ticket.resolved_at is not None
    assert events(ticket) == [
        (EventKind.ASSIGNED, agent.pk),
        (EventKind.REPLY_SENT, None),
        (EventKind.STATUS_CHANGED, Status.RESOLU),
    ]
    assert ticket.version == 8


def test_a_plain_reply_assigns_nobody_until_a_reply_moves_the_ticket(agent):
    ticket = TicketFactory()
    ticket_reply(ticket=ticket, actor=agent, body="Nous regardons.")
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.status == Status.NOUVEAU
    assert ticket.version == 2
    assert events(ticket) == [(EventKind.REPLY_SENT, None)]

    ticket_reply(ticket=ticket, actor=agent, body="Merci de patienter.", then_status="en_attente")
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.EN_ATTENTE


def test_a_ticket_someone_holds_keeps_its_assignee(agent, habilitation_queue):
    colleague = UserFactory(queues=[habilitation_queue])
    ticket = TicketFactory()
    # The colleague takes the ticket by replying and waiting on the requester…
    ticket_reply(ticket=ticket, actor=colleague, body="Envoyez le Kbis.", then_status="en_attente")
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    # … and the agent who resolves it later does not take it over.
    ticket_reply(ticket=ticket, actor=agent, body="Kbis reçu, c'est fait.", then_status="resolu")
    ticket.refresh_from_db()
    assert ticket.assignee == colleague and ticket.status == Status.RESOLU
    assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 1
    assert ticket.events.get(kind=EventKind.ASSIGNED).actor == colleague


def test_a_refused_move_assigns_nobody_and_saves_nothing(agent):
    # Resolved with nobody assigned (as this defect left some): "mettre en attente" is not a
    # move the state machine allows from "résolu".
    ticket = TicketFactory(status=Status.RESOLU, resolved_at=timezone.now())
    with pytest.raises(InvalidTransition):
        ticket_reply(ticket=ticket, actor=agent, body="Pouvez-vous…", then_status="en_attente")
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.status == Status.RESOLU and ticket.version == 1
    assert not ticket.events.exists() and not ticket.messages.exists()
    assert not OutboxJob.objects.exists()

    # Reopened (still unassigned), the same reply goes through and the agent takes it.
    ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_COURS)
    ticket_reply(ticket=ticket, actor=agent, body="Pouvez-vous…", then_status="en_attente")
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.EN_ATTENTE


def test_a_supervisor_outside_the_queue_takes_the_ticket_it_resolves(supervisor):
    # A supervisor works on every queue without being a member of it: ``ticket_claim`` lets
    # it take a ticket, so replying and resolving does too (and is not refused).
    assert not supervisor.queues.exists()
    ticket = TicketFactory()
    ticket_reply(ticket=ticket, actor=supervisor, body="Réglé.", then_status=Status.RESOLU)
    ticket.refresh_from_db()
    assert ticket.assignee == supervisor and ticket.status == Status.RESOLU
    other = TicketFactory()
    ticket_claim(ticket=other, actor=supervisor)
    other.refresh_from_db()
    assert other.assignee == supervisor


def test_asking_for_documents_on_an_unassigned_ticket_assigns_it_before_it_waits(
    agent, habilitation_queue
):
    ticket = TicketFactory()
    ticket_request_documents(
        ticket=ticket, actor=agent, body="Merci d'envoyer le Kbis.", kinds=[DocumentKind.KBIS]
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.EN_ATTENTE
    assert events(ticket) == [
        (EventKind.ASSIGNED, agent.pk),
        (EventKind.STATUS_CHANGED, Status.EN_COURS),
        (EventKind.REPLY_SENT, None),
        (EventKind.DOCUMENTS_REQUESTED, None),
        (EventKind.STATUS_CHANGED, Status.EN_ATTENTE),
    ]
    # Already waiting, or held by a colleague: nobody is (re)assigned.
    colleague = UserFactory(queues=[habilitation_queue])
    waiting = TicketFactory(status=Status.EN_ATTENTE)
    held = TicketFactory(status=Status.EN_COURS, assignee=colleague)
    for other in (waiting, held):
        ticket_request_documents(
            ticket=other, actor=agent, body="Et la pièce d'identité.", kinds=[DocumentKind.IDENTITY]
        )
    waiting.refresh_from_db()
    held.refresh_from_db()
    assert waiting.assignee is None and held.assignee == colleague
    assert held.status == Status.EN_ATTENTE


# --- The ticket page ------------------------------------------------------------------------


def timeline(html: str) -> list[str]:
    section = re.search(r'<details[^>]*id="timeline".*?</details>', html, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>.*?</li>", section)]


@pytest.mark.parametrize(
    "then, done",
    [
        (Status.RESOLU, "ticket {reference} résolu."),
        (Status.EN_ATTENTE, "ticket en attente du demandeur."),
    ],
    ids=["resolu", "en_attente"],
)
def test_reply_and_move_from_the_page_takes_an_unassigned_ticket(
    agent, verified_client, django_capture_on_commit_callbacks, then, done
):
    ticket = TicketFactory()
    client = verified_client(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("backoffice:ticket_reply", args=[ticket.pk]),
            {"reply-body": "Bonjour, c'est fait.", "reply-version": 1, "reply-then": then},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == then
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 1
    assert len(mail.outbox) == 1

    html = client.get(response["Location"]).content.decode()
    assert escape(done.format(reference=ticket.reference)) in html
    assert f"Assigné à {escape(agent)}" in html  # the badge
    lines = timeline(html)
    assigned = [i for i, line in enumerate(lines) if f"— Assigné à {escape(agent)}" in line]
    replied = [i for i, line in enumerate(lines) if "— Réponse envoyée" in line]
    moved = [i for i, line in enumerate(lines) if f"→ {escape(then.label)} par" in line]
    assert len(assigned) == 1 and len(replied) == 1 and len(moved) == 1
    assert assigned[0] < replied[0] < moved[0]
    assert f"par {escape(agent)}" in lines[assigned[0]]
