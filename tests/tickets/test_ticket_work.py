"""Agents' work on tickets: claim, assign, take next, status, notes, replies, bulk
operations, stale edits. Services first, then the page and API that call them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import TicketFactory, UserFactory
from tickets.exceptions import (
    ActionNotAllowed,
    InvalidTransition,
    NoTicketAvailable,
    StaleTicket,
    TicketNotFound,
)
from tickets.models import EventKind, MessageKind, Priority, Queue, Status
from tickets.services import (
    ticket_assign,
    ticket_bulk_assign,
    ticket_bulk_change_status,
    ticket_change_status,
    ticket_claim,
    ticket_note_add,
    ticket_reply,
    ticket_take_next,
)

pytestmark = pytest.mark.django_db


def test_claim_assigns_starts_and_records(agent):
    ticket = TicketFactory()
    ticket_claim(ticket=ticket, actor=agent, expected_version=1)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Status.EN_COURS
    assert ticket.version == 2
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [EventKind.ASSIGNED, EventKind.STATUS_CHANGED]
    assert ticket.events.get(kind=EventKind.ASSIGNED).actor == agent


def test_claim_of_a_ticket_held_by_someone_else_is_refused(agent, habilitation_queue):
    colleague = UserFactory(queues=[habilitation_queue])
    ticket = TicketFactory(assignee=colleague)
    with pytest.raises(ActionNotAllowed):
        ticket_claim(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == colleague


def test_claim_outside_the_agent_queues_is_not_found(other_agent):
    ticket = TicketFactory()
    with pytest.raises(TicketNotFound):
        ticket_claim(ticket=ticket, actor=other_agent)


def test_assign_to_a_colleague_and_unassign(agent, habilitation_queue, supervisor):
    colleague = UserFactory(queues=[habilitation_queue])
    ticket = TicketFactory()
    ticket_assign(ticket=ticket, actor=agent, assignee=colleague)
    ticket_assign(ticket=ticket, actor=agent, assignee=supervisor)
    ticket_assign(ticket=ticket, actor=agent, assignee=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [
        EventKind.ASSIGNED,
        EventKind.STATUS_CHANGED,
        EventKind.ASSIGNED,
        EventKind.UNASSIGNED,
    ]


def test_assign_to_an_inactive_user_is_refused(agent, habilitation_queue):
    gone = UserFactory(queues=[habilitation_queue], is_active=False)
    with pytest.raises(ActionNotAllowed):
        ticket_assign(ticket=TicketFactory(), actor=agent, assignee=gone)


def test_a_stale_edit_is_refused_with_a_clear_message(agent, habilitation_queue):
    colleague = UserFactory(queues=[habilitation_queue])
    ticket = TicketFactory()
    seen_version = ticket.version
    ticket_claim(ticket=ticket, actor=colleague, expected_version=seen_version)
    for edit in (
        lambda: ticket_change_status(
            ticket=ticket, actor=agent, new_status=Status.RESOLU, expected_version=seen_version
        ),
        lambda: ticket_assign(
            ticket=ticket, actor=agent, assignee=agent, expected_version=seen_version
        ),
        lambda: ticket_reply(ticket=ticket, actor=agent, body="x", expected_version=seen_version),
    ):
        with pytest.raises(StaleTicket) as exc:
            edit()
        assert "modifié par quelqu'un d'autre" in exc.value.message
    ticket.refresh_from_db()
    assert ticket.assignee == colleague and ticket.status == Status.EN_COURS


def test_a_stale_edit_from_the_page_and_the_api(agent, habilitation_queue, verified_client):
    colleague = UserFactory(queues=[habilitation_queue])
    ticket = TicketFactory()
    ticket_claim(ticket=ticket, actor=colleague)
    client = verified_client(agent)
    response = client.post(
        reverse("backoffice:ticket_status", args=[ticket.pk]),
        {"version": 1, "status": "resolu"},
        follow=True,
    )
    assert "modifié par quelqu&#x27;un d&#x27;autre" in response.content.decode()
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/status",
        data=json.dumps({"status": "resolu", "version": 1}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "modifié par quelqu'un d'autre" in response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS


def test_status_change_follows_the_state_machine(agent, verified_client):
    ticket = TicketFactory(status=Status.CLOS)
    with pytest.raises(InvalidTransition):
        ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_COURS)
    response = verified_client(agent).post(
        f"/api/v1/tickets/{ticket.pk}/status",
        data=json.dumps({"status": "en_cours"}),
        content_type="application/json",
    )
    assert response.status_code == 409


def test_take_next_gives_the_highest_priority_then_oldest(agent, habilitation_queue):
    now = timezone.now()
    old_normal = TicketFactory(priority=Priority.NORMAL, created_at=now - timedelta(days=3))
    new_urgent = TicketFactory(priority=Priority.URGENT, created_at=now - timedelta(hours=1))
    old_urgent = TicketFactory(priority=Priority.URGENT, created_at=now - timedelta(days=1))
    TicketFactory(priority=Priority.URGENT, assignee=agent, created_at=now - timedelta(days=9))
    TicketFactory(
        priority=Priority.URGENT, status=Status.RESOLU, created_at=now - timedelta(days=9)
    )
    TicketFactory(
        priority=Priority.URGENT,
        queue=Queue.objects.get(slug="general"),
        created_at=now - timedelta(days=9),
    )
    taken = [ticket_take_next(queue=habilitation_queue, actor=agent).pk for _ in range(3)]
    assert taken == [old_urgent.pk, new_urgent.pk, old_normal.pk]
    with pytest.raises(NoTicketAvailable):
        ticket_take_next(queue=habilitation_queue, actor=agent)


def test_take_next_in_a_queue_the_agent_is_not_in(other_agent, habilitation_queue):
    TicketFactory()
    with pytest.raises(TicketNotFound):
        ticket_take_next(queue=habilitation_queue, actor=other_agent)


def test_take_next_from_the_page(agent, verified_client):
    ticket = TicketFactory()
    response = verified_client(agent).post(
        reverse("backoffice:queue_take_next", args=["habilitation"])
    )
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_note_is_internal_and_on_the_timeline(agent):
    ticket = TicketFactory()
    message = ticket_note_add(ticket=ticket, actor=agent, body="  Appelé le gérant.  ")
    assert message.kind == MessageKind.NOTE and message.body == "Appelé le gérant."
    event = ticket.events.get(kind=EventKind.NOTE_ADDED)
    assert event.data == {"message_id": message.pk} and event.actor == agent
    assert mail.outbox == []
    with pytest.raises(ActionNotAllowed):
        ticket_note_add(ticket=ticket, actor=agent, body="   ")


def test_reply_is_emailed_with_the_reference_and_stamps_first_response(
    agent, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(reference="AP-2026-000321", email="claire@exemple.fr")
    with freeze_time("2026-03-02 10:00:00"), django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=agent, body="Votre compte a été réattribué.")
    with freeze_time("2026-03-02 11:00:00"), django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=agent, body="Deuxième réponse.")
    ticket.refresh_from_db()
    assert ticket.first_response_at.isoformat().startswith("2026-03-02T10:00:00")
    assert len(mail.outbox) == 2
    first = mail.outbox[0]
    assert "AP-2026-000321" in first.subject
    assert first.to == ["claire@exemple.fr"]
    assert "Votre compte a été réattribué." in first.body
    assert ticket.events.filter(kind=EventKind.REPLY_SENT).count() == 2
    assert ticket.events.filter(kind=EventKind.EMAIL_SENT).count() == 2
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 2


def test_reply_from_the_page_reaches_the_requester(
    agent, verified_client, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(reference="AP-2026-000654")
    client = verified_client(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("backoffice:ticket_reply", args=[ticket.pk]),
            {"reply-body": "Bonjour, voici la marche à suivre.", "reply-version": ticket.version},
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "AP-2026-000654" in mail.outbox[0].subject


def test_bulk_assign_updates_every_timeline(agent, habilitation_queue, supervisor):
    colleague = UserFactory(queues=[habilitation_queue])
    tickets = [TicketFactory() for _ in range(4)]
    ticket_bulk_assign(ticket_ids=[t.pk for t in tickets], actor=supervisor, assignee=colleague)
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assignee == colleague
        event = ticket.events.get(kind=EventKind.ASSIGNED)
        assert event.actor == supervisor and event.data["after"] == colleague.pk


def test_bulk_status_updates_every_timeline(agent):
    tickets = [TicketFactory() for _ in range(3)]
    ticket_bulk_change_status(
        ticket_ids=[t.pk for t in tickets], actor=agent, new_status=Status.RESOLU
    )
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.RESOLU and ticket.resolved_at is not None
        event = ticket.events.get(kind=EventKind.STATUS_CHANGED)
        assert event.data == {"before": "nouveau", "after": "resolu", "bulk": True}


def test_bulk_is_all_or_nothing(agent):
    good = TicketFactory()
    closed = TicketFactory(status=Status.CLOS)
    with pytest.raises(InvalidTransition):
        ticket_bulk_change_status(
            ticket_ids=[good.pk, closed.pk], actor=agent, new_status=Status.RESOLU
        )
    good.refresh_from_db()
    assert good.status == Status.NOUVEAU and good.events.count() == 0
    outside = TicketFactory(queue=Queue.objects.get(slug="general"))
    with pytest.raises(TicketNotFound):
        ticket_bulk_assign(ticket_ids=[good.pk, outside.pk], actor=agent, assignee=agent)
    good.refresh_from_db()
    assert good.assignee is None


def test_bulk_from_the_table(agent, verified_client):
    tickets = [TicketFactory() for _ in range(3)]
    client = verified_client(agent)
    response = client.post(
        reverse("backoffice:tickets_bulk"),
        {
            "action": "assign",
            "assignee": "me",
            "tickets": [t.pk for t in tickets],
            "next": reverse("backoffice:queue", args=["habilitation"]),
        },
    )
    assert response["Location"] == reverse("backoffice:queue", args=["habilitation"])
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assignee == agent
    client.post(
        reverse("backoffice:tickets_bulk"),
        {
            "action": "status",
            "status": "en_attente",
            "tickets": [t.pk for t in tickets],
            "next": "https://evil.example/",
        },
    )
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.EN_ATTENTE


def test_ticket_page_shows_card_timeline_and_messages(agent, verified_client):
    from tests.factories import (
        EstablishmentFactory,
        ExtranetAccountFactory,
        RegistryEstablishmentFactory,
    )

    establishment = EstablishmentFactory(siret="73282932000074", denomination="Boulangerie")
    ExtranetAccountFactory(establishment=establishment, holder_email="ancien@exemple.fr")
    RegistryEstablishmentFactory(
        siret="73282932000074", denomination="BOULANGERIE DU MARCHE", closed=True
    )
    earlier = TicketFactory(siret="73282932000074", status=Status.CLOS)
    TicketFactory(
        siret="73282932000074", queue=Queue.objects.get(slug="general"), reference="AP-2026-888888"
    )
    ticket = TicketFactory(siret="73282932000074", establishment=establishment)
    ticket_note_add(ticket=ticket, actor=agent, body="Note secrète des agents")
    html = (
        verified_client(agent)
        .get(reverse("backoffice:ticket_detail", args=[ticket.pk]))
        .content.decode()
    )
    assert "!!MISSING" not in html
    assert "ancien@exemple.fr" in html
    assert "BOULANGERIE DU MARCHE" in html and "Fermé" in html
    assert earlier.reference in html
    assert "AP-2026-888888" not in html  # a ticket of a queue the agent does not work on
    assert "Note secrète des agents" in html


def test_api_claim_and_take_next_without_a_body(agent, verified_client):
    first, second = TicketFactory(), TicketFactory()
    client = verified_client(agent)
    response = client.post(f"/api/v1/tickets/{first.pk}/claim")
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == agent.pk
    response = client.post("/api/v1/queues/habilitation/take-next")
    assert response.status_code == 200 and response.json()["id"] == second.pk
    response = client.post("/api/v1/queues/habilitation/take-next")
    assert response.status_code == 409
    assert response.json()["detail"] == "Aucun ticket à prendre dans cette file."
