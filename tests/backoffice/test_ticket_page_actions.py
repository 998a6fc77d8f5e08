"""The ticket page's common path in one action: reply and set the status in one POST (one
transaction), then take the next ticket of the queue; a refused reply comes back with the
text typed; the reply box first on the page; the canned replies at one query."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory
from tickets.models import CannedReply, EventKind, MessageKind, Queue, Status
from worker.models import OutboxJob

pytestmark = pytest.mark.django_db


def reply(client, ticket, body="Bonjour, c'est fait.", **extra):
    data = {"reply-body": body, "reply-version": ticket.version, **extra}
    return client.post(reverse("backoffice:ticket_reply", args=[ticket.pk]), data)


def reply_box(html: str) -> str:
    return re.search(r'<textarea[^>]*id="reply-body"[^>]*>(.*?)</textarea>', html, re.S).group(1)


@pytest.mark.parametrize(
    "then, status, paused",
    [(Status.EN_ATTENTE, Status.EN_ATTENTE, True), (Status.RESOLU, Status.RESOLU, False)],
)
def test_reply_and_status_in_one_post(
    agent, verified_client, django_capture_on_commit_callbacks, then, status, paused
):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    client = verified_client(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = reply(client, ticket, **{"reply-then": then})
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.status == status
    assert (ticket.sla_paused_at is not None) is paused
    assert (ticket.resolved_at is not None) is (status == Status.RESOLU)
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 1
    assert [e.kind for e in ticket.events.order_by("id")][:2] == [
        EventKind.REPLY_SENT,
        EventKind.STATUS_CHANGED,
    ]
    assert len(mail.outbox) == 1
    page = client.get(response["Location"]).content.decode()
    assert "Réponse enregistrée (elle part par courriel au demandeur) ; ticket" in page


def test_a_refused_transition_saves_nothing_and_gives_the_text_back(agent, verified_client):
    ticket = TicketFactory(status=Status.RESOLU, assignee=agent, resolved_at=timezone.now())
    client = verified_client(agent)
    typed = "Bonjour,\nvoici <b>ma</b> réponse."
    response = reply(client, ticket, typed, **{"reply-then": Status.EN_ATTENTE})
    assert response.status_code == 409
    html = response.content.decode()
    assert (
        f"Impossible de passer le ticket {ticket.reference} de « Résolu » à « En attente du "
        "demandeur »." in html
    )
    assert reply_box(html) == "Bonjour,\nvoici &lt;b&gt;ma&lt;/b&gt; réponse."
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLU and ticket.version == 1
    assert not ticket.messages.exists()
    assert not ticket.events.exists()
    assert not OutboxJob.objects.exists() and mail.outbox == []


def test_a_stale_version_gives_the_text_back_on_the_current_page(agent, verified_client):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent, version=3)
    client = verified_client(agent)
    response = client.post(
        reverse("backoffice:ticket_reply", args=[ticket.pk]),
        {"reply-body": "Ma réponse.", "reply-version": 2, "reply-then": Status.RESOLU},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Ce ticket a été modifié par quelqu&#x27;un d&#x27;autre entre-temps." in html
    assert reply_box(html) == "Ma réponse."
    # The page shown is the current version: sending again is a choice made on it.
    assert 'name="reply-version" value="3"' in html
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS and not ticket.messages.exists()


def test_an_empty_reply_is_a_french_error_on_the_page(agent, verified_client):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    response = reply(verified_client(agent), ticket, "   ", **{"reply-then": Status.RESOLU})
    assert response.status_code == 400
    assert "Écrivez la réponse avant de l&#x27;envoyer." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS


def test_reply_resolve_and_take_the_next_ticket_of_the_same_queue(agent, verified_client):
    now = timezone.now()
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    TicketFactory(queue=Queue.objects.get(slug="general"), created_at=now - timedelta(days=9))
    older = TicketFactory(created_at=now - timedelta(days=2))
    TicketFactory(created_at=now - timedelta(days=1))
    client = verified_client(agent)
    response = reply(client, ticket, **{"reply-then": Status.RESOLU, "reply-take_next": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[older.pk])
    ticket.refresh_from_db()
    older.refresh_from_db()
    assert ticket.status == Status.RESOLU
    assert older.assignee == agent and older.status == Status.EN_COURS
    page = client.get(response["Location"]).content.decode()
    assert f"Ticket suivant : {older.reference} vous est assigné." in page
    # The choice is remembered for the session.
    assert re.search(r'id="reply-take-next" name="reply-take_next" checked', page)


def test_with_no_ticket_left_the_agent_lands_on_the_queue(agent, verified_client):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    client = verified_client(agent)
    response = reply(client, ticket, **{"reply-then": Status.RESOLU, "reply-take_next": "on"})
    assert response["Location"] == reverse("backoffice:queue", args=["habilitation"])
    assert (
        "Aucun ticket à prendre dans cette file."
        in client.get(response["Location"]).content.decode()
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLU


def test_without_the_option_or_without_resolving_the_agent_stays(agent, verified_client):
    TicketFactory(created_at=timezone.now() - timedelta(days=2))
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    client = verified_client(agent)
    response = reply(client, ticket, **{"reply-then": Status.EN_ATTENTE, "reply-take_next": "on"})
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])
    ticket.refresh_from_db()
    response = reply(client, ticket, **{"reply-then": Status.RESOLU})
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])


def test_resolving_with_the_status_form_can_take_the_next_ticket(agent, verified_client):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    following = TicketFactory(created_at=timezone.now() - timedelta(hours=1))
    client = verified_client(agent)
    response = client.post(
        reverse("backoffice:ticket_status", args=[ticket.pk]),
        {"version": ticket.version, "status": Status.RESOLU, "take_next": "on"},
    )
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[following.pk])
    following.refresh_from_db()
    assert following.assignee == agent
    # A refused change takes nothing.
    other = TicketFactory(created_at=timezone.now() - timedelta(hours=2))
    response = client.post(
        reverse("backoffice:ticket_status", args=[ticket.pk]),
        {"version": 1, "status": Status.RESOLU, "take_next": "on"},
    )
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])
    other.refresh_from_db()
    assert other.assignee is None


def test_the_reply_box_and_actions_come_first_the_long_parts_below(agent, verified_client):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    html = (
        verified_client(agent)
        .get(reverse("backoffice:ticket_detail", args=[ticket.pk]))
        .content.decode()
    )
    order = [
        html.index('id="reply-body"'),
        html.index('id="actions-title"'),
        html.index('id="request-title"'),
        html.index('id="messages-title"'),
        html.index('id="timeline-title"'),
    ]
    assert order == sorted(order)
    assert html.index('id="reply-body"') < html.index('id="establishment-title"')
    buttons = re.findall(r'name="reply-then" value="(\w*)"[^>]*>([^<]+)<', html)
    assert buttons == [
        ("", "Envoyer la réponse"),
        ("en_attente", "Répondre et mettre en attente"),
        ("resolu", "Répondre et résoudre"),
    ]
    # The timeline is folded.
    assert re.search(r'<details class="bo-fold[^"]*" id="timeline">', html)
    assert "js/canned-replies.js" in html


def test_the_canned_replies_cost_one_query_however_many(agent, verified_client, monkeypatch):
    from tickets import selectors

    monkeypatch.setattr(selectors, "QUEUE_COUNTS_CACHE_SECONDS", 3600)
    monkeypatch.setattr(selectors, "ASSIGNABLE_CACHE_SECONDS", 3600)
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    client = verified_client(agent)
    url = reverse("backoffice:ticket_detail", args=[ticket.pk])
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    none = count()
    now = timezone.now()
    for i in range(8):
        CannedReply.objects.create(
            queue=ticket.queue, title=f"Réponse {i}", body="Bonjour {demandeur}.",
            created_at=now, updated_at=now,
        )  # fmt: skip
    assert count() == none
    assert client.get(url).content.decode().count('<template id="canned-reply-') == 8
