"""The requester's follow-up link and page (DESIGN.md section 10): drawn at send time and
stored hashed, bound to one ticket, usable many times while open and a set time after
closing, revocable; the page shows the request without internal notes or agents' names;
the requester's answer reopens the ticket, ends the SLA pause and marks it unread."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from tests.factories import UserFactory
from tests.support.documents import followup_link
from tests.support.intake import submit
from tickets.business_hours import add_business_time, business_time_between
from tickets.followup import followup_link_renew
from tickets.models import (
    EventKind,
    FollowUpLink,
    MessageKind,
    SlaPause,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from tickets.services import (
    ticket_change_status,
    ticket_claim,
    ticket_note_add,
    ticket_reply,
)
from worker.models import OutboxJob

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in business hours


def file_request(valid_request_data, capture, **changes):
    with capture(execute=True):
        result = submit({**valid_request_data, **changes})
    [ack] = [m for m in mail.outbox if result.ticket.reference in m.subject]
    mail.outbox.clear()
    return result.ticket, ack


def open_page(client, path):
    """Land on the link as a requester's browser does; returns the page response."""
    landing = client.get(path)
    assert landing.status_code == 302
    return landing, client.get(landing["Location"])


@pytest.fixture
def filed(valid_request_data, django_capture_on_commit_callbacks):
    return file_request(valid_request_data, django_capture_on_commit_callbacks)


def test_the_acknowledgement_carries_a_link_drawn_at_send_time_and_stored_hashed(filed):
    ticket, ack = filed
    path, token = followup_link(ack)
    assert path == f"/suivi/{token}/"
    assert len(token) >= 43  # 256 bits, URL-safe base64
    [link] = FollowUpLink.objects.filter(ticket=ticket)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.sent_at is not None
    # The raw token is in no row: not the outbox's, not the timeline's.
    for row in OutboxJob.objects.all():
        assert token not in str(row.context)
    for event in TicketEvent.objects.all():
        assert token not in str(event.data)
    assert "espace de suivi" in ack.body


def test_the_link_opens_its_own_ticket_only_and_leaves_the_url(
    client, filed, valid_request_data, django_capture_on_commit_callbacks
):
    ticket, ack = filed
    other, _other_ack = file_request(
        valid_request_data, django_capture_on_commit_callbacks, email="autre@exemple.fr"
    )
    path, token = followup_link(ack)
    landing, page = open_page(client, path)
    assert landing["Location"] == reverse("followup")
    assert landing["Referrer-Policy"] == "no-referrer"
    assert token not in landing["Location"]
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"
    body = page.content.decode()
    assert ticket.reference in body
    assert other.reference not in body
    assert token not in body
    # Many times.
    for _ in range(3):
        assert open_page(client, path)[1].status_code == 200


def test_a_made_up_token_lands_on_a_token_free_refusal(client, filed, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.get("/suivi/pas-un-vrai-jeton-0123456789/")
    assert response.status_code == 302
    assert response["Location"] == reverse("followup_invalid")
    refused = client.get(response["Location"])
    assert refused.status_code == 410
    assert "plus valable" in refused.content.decode()
    # Nothing in the session opens anything.
    assert client.get(reverse("followup")).status_code == 302
    assert "pas-un-vrai-jeton" not in caplog.text


def test_the_page_shows_replies_signed_by_the_team_never_notes_nor_agent_names(
    client, filed, agent, django_capture_on_commit_callbacks
):
    ticket, ack = filed
    agent.first_name, agent.last_name = "Agathe", "Confidentielle"
    agent.save()
    ticket_claim(ticket=ticket, actor=agent)
    ticket_note_add(ticket=ticket, actor=agent, body="Note interne : appeler le standard.")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=agent, body="Bonjour, nous vérifions votre SIRET.")
    _landing, page = open_page(client, followup_link(ack)[0])
    body = page.content.decode()
    assert "nous vérifions votre SIRET" in body
    assert "L&#x27;équipe d&#x27;assistance" in body or "L'équipe d'assistance" in body
    assert "Note interne" not in body
    assert "Confidentielle" not in body
    assert "En cours de traitement" in body
    # The reply e-mail carries a link of its own, to the same page.
    [reply] = mail.outbox
    _landing, page = open_page(client, followup_link(reply)[0])
    assert ticket.reference in page.content.decode()


def test_an_answer_reopens_a_ticket_waiting_on_the_requester_and_ends_the_sla_pause(
    client, agent, habilitation_queue, valid_request_data, django_capture_on_commit_callbacks
):
    with freeze_time(NOW):
        ticket, ack = file_request(valid_request_data, django_capture_on_commit_callbacks)
        ticket_claim(ticket=ticket, actor=agent)
        ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_ATTENTE)
    ticket.refresh_from_db()
    due_before = ticket.sla_resolution_due
    with freeze_time(NOW + timedelta(hours=2)):
        _landing, _page = open_page(client, followup_link(ack)[0])
        response = client.post(reverse("followup"), {"body": "Voici les précisions demandées."})
        assert response.status_code == 302
        page = client.get(reverse("followup")).content.decode()
    assert "Voici les précisions demandées." in page
    assert "Votre réponse est transmise" in page
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS
    assert ticket.sla_paused_at is None
    [pause] = SlaPause.objects.filter(ticket=ticket)
    assert pause.ended_at == NOW + timedelta(hours=2)
    # The targets move by the business time the pause lasted.
    paused = business_time_between(NOW, NOW + timedelta(hours=2))
    assert ticket.sla_resolution_due == add_business_time(due_before, paused)
    assert ticket.requester_unread_at == NOW + timedelta(hours=2)
    message = TicketMessage.objects.get(ticket=ticket, kind=MessageKind.REQUESTER_REPLY)
    assert message.body == "Voici les précisions demandées."
    assert message.author is None
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.REQUESTER_REPLIED, EventKind.STATUS_CHANGED]


def test_unread_shows_in_the_lists_until_the_assigned_agent_opens_the_ticket(
    client, agent, habilitation_queue, filed, verified_client
):
    ticket, ack = filed
    ticket_claim(ticket=ticket, actor=agent)
    open_page(client, followup_link(ack)[0])
    client.post(reverse("followup"), {"body": "Réponse."})
    colleague = UserFactory(queues=[habilitation_queue])
    agent_client, colleague_client = verified_client(agent), verified_client(colleague)
    mine = agent_client.get(reverse("backoffice:my_tickets")).content.decode()
    assert "Réponse non lue" in mine
    # A colleague opening it does not count as read by the agent in charge.
    assert (
        colleague_client.get(reverse("backoffice:ticket_detail", args=[ticket.pk])).status_code
        == 200
    )
    assert Ticket.objects.get(pk=ticket.pk).requester_unread_at is not None
    page = agent_client.get(reverse("backoffice:ticket_detail", args=[ticket.pk])).content.decode()
    assert "Le demandeur a répondu" in page
    assert Ticket.objects.get(pk=ticket.pk).requester_unread_at is None
    assert (
        "Réponse non lue" not in agent_client.get(reverse("backoffice:my_tickets")).content.decode()
    )


def test_unassigned_unread_is_read_by_an_agent_of_the_queue(client, agent, filed, verified_client):
    ticket, ack = filed
    open_page(client, followup_link(ack)[0])
    client.post(reverse("followup"), {"body": "Réponse."})
    queue_page = verified_client(agent).get(reverse("backoffice:queue", args=["habilitation"]))
    assert "Réponse non lue" in queue_page.content.decode()
    verified_client(agent).get(reverse("backoffice:ticket_detail", args=[ticket.pk]))
    assert Ticket.objects.get(pk=ticket.pk).requester_unread_at is None


@pytest.mark.parametrize("final", [Status.RESOLU, Status.CLOS])
def test_the_link_works_until_the_configured_days_after_closing(
    client, agent, settings, valid_request_data, django_capture_on_commit_callbacks, final
):
    settings.FOLLOWUP_LINK_DAYS_AFTER_CLOSE = 30
    with freeze_time(NOW):
        ticket, ack = file_request(valid_request_data, django_capture_on_commit_callbacks)
        ticket_claim(ticket=ticket, actor=agent)
        ticket_change_status(ticket=ticket, actor=agent, new_status=Status.RESOLU)
        if final == Status.CLOS:
            ticket_change_status(ticket=ticket, actor=agent, new_status=Status.CLOS)
    path = followup_link(ack)[0]
    with freeze_time(NOW + timedelta(days=29, hours=23)):
        _landing, page = open_page(client, path)
        assert page.status_code == 200
        body = page.content.decode()
        if final == Status.CLOS:
            assert (
                "il n&#x27;est plus possible d&#x27;y répondre" in body or "plus possible" in body
            )
            response = client.post(reverse("followup"), {"body": "Encore une question."})
            assert not TicketMessage.objects.filter(kind=MessageKind.REQUESTER_REPLY).exists()
            assert "close" in response.content.decode()
    with freeze_time(NOW + timedelta(days=30, minutes=1)):
        landing = client.get(path)
        assert landing["Location"] == reverse("followup_invalid")
        # A page opened before the end stops too.
        assert client.get(reverse("followup"))["Location"] == reverse("followup_invalid")


def test_an_answer_to_a_resolved_ticket_reopens_it(client, agent, filed):
    ticket, ack = filed
    ticket_claim(ticket=ticket, actor=agent)
    ticket_change_status(ticket=ticket, actor=agent, new_status=Status.RESOLU)
    open_page(client, followup_link(ack)[0])
    client.post(reverse("followup"), {"body": "Ce n'est pas réglé."})
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS
    assert ticket.resolved_at is None


def test_a_new_link_revokes_the_old_ones(
    client, agent, filed, verified_client, django_capture_on_commit_callbacks
):
    ticket, ack = filed
    old_path = followup_link(ack)[0]
    open_page(client, old_path)
    with django_capture_on_commit_callbacks(execute=True):
        response = verified_client(agent).post(
            reverse("backoffice:ticket_followup_link_renew", args=[ticket.pk])
        )
    assert response.status_code == 302
    [renewed] = mail.outbox
    assert renewed.to == [ticket.email]
    new_path = followup_link(renewed)[0]
    assert new_path != old_path
    # The old link and a page already opened with it stop working; the new one works.
    assert client.get(reverse("followup"))["Location"] == reverse("followup_invalid")
    assert client.get(old_path)["Location"] == reverse("followup_invalid")
    assert open_page(client, new_path)[1].status_code == 200
    event = ticket.events.get(kind=EventKind.FOLLOWUP_LINK_RENEWED)
    assert event.actor == agent and event.data["revoked"] == 1
    assert FollowUpLink.objects.filter(ticket=ticket, revoked_at__isnull=True).count() == 1


def test_an_agent_of_another_queue_cannot_renew_the_link(filed, other_agent, verified_client):
    ticket, _ack = filed
    response = verified_client(other_agent).post(
        reverse("backoffice:ticket_followup_link_renew", args=[ticket.pk])
    )
    assert response.status_code == 404
    assert not FollowUpLink.objects.filter(ticket=ticket, revoked_at__isnull=False).exists()


def test_a_link_revoked_before_its_email_left_sends_the_email_without_it(
    agent, valid_request_data, django_capture_on_commit_callbacks
):
    result = submit(valid_request_data)  # the acknowledgement is not sent yet
    followup_link_renew(ticket=result.ticket, actor=agent)
    from worker.services import email_deliver

    ack = OutboxJob.objects.get(template="ticket_acknowledgement")
    assert email_deliver(email_id=ack.pk)
    [sent] = mail.outbox
    assert "/suivi/" not in sent.body
    assert "remplacé par un lien plus récent" in sent.body


def test_answers_are_rate_limited_per_ticket(client, settings, filed):
    settings.FOLLOWUP_POSTS_PER_TICKET_PER_HOUR = 2
    ticket, ack = filed
    open_page(client, followup_link(ack)[0])
    for i in range(2):
        assert client.post(reverse("followup"), {"body": f"Message {i}"}).status_code == 302
    assert client.post(reverse("followup"), {"body": "Encore"}).status_code == 429
    assert TicketMessage.objects.filter(kind=MessageKind.REQUESTER_REPLY).count() == 2


def test_answers_are_rate_limited_per_address(client, settings, filed):
    settings.FOLLOWUP_POSTS_PER_IP_PER_HOUR = 1
    ticket, ack = filed
    open_page(client, followup_link(ack)[0])
    assert client.post(reverse("followup"), {"body": "Un"}).status_code == 302
    assert client.post(reverse("followup"), {"body": "Deux"}).status_code == 429


def test_an_empty_answer_is_refused_in_french(client, filed):
    _ticket, ack = filed
    open_page(client, followup_link(ack)[0])
    response = client.post(reverse("followup"), {"body": "   "})
    assert response.status_code == 200
    assert "Écrivez un message ou joignez au moins un document." in response.content.decode()
    assert not TicketMessage.objects.filter(kind=MessageKind.REQUESTER_REPLY).exists()


def test_the_token_is_in_no_log_record(client, filed, caplog, agent,
                                       django_capture_on_commit_callbacks):  # fmt: skip
    caplog.set_level(logging.DEBUG)
    ticket, ack = filed
    path, token = followup_link(ack)
    open_page(client, path)
    client.post(reverse("followup"), {"body": "Réponse."})
    with django_capture_on_commit_callbacks(execute=True):
        followup_link_renew(ticket=ticket, actor=agent)
    client.get(path)  # revoked now
    tokens = [token, followup_link(mail.outbox[-1])[1]]
    for record in caplog.records:
        text = record.getMessage()
        assert not any(t in text for t in tokens), text


def test_an_answer_without_the_csrf_token_is_refused(filed):
    from django.test import Client

    _ticket, ack = filed
    browser = Client(enforce_csrf_checks=True)
    page = open_page(browser, followup_link(ack)[0])[1]
    assert page.status_code == 200
    assert browser.post(reverse("followup"), {"body": "Sans jeton."}).status_code == 403
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        reverse("followup"), {"body": "Avec jeton.", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert list(
        TicketMessage.objects.filter(kind=MessageKind.REQUESTER_REPLY).values_list(
            "body", flat=True
        )
    ) == ["Avec jeton."]
