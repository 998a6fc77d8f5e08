"""From a notice, reply to and resolve all its linked open tickets at once
(backoffice.notices.services.notice_resolve_linked_tickets and its page)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from backoffice.notices import services as notice_services
from backoffice.notices.exceptions import NoticeError
from backoffice.notices.models import NoticeEvent
from backoffice.notices.services import (
    notice_create,
    notice_publish_now,
    notice_resolve_linked_tickets,
)
from tests.factories import TicketFactory
from tickets.exceptions import TicketError
from tickets.models import EventKind, MessageKind, Queue, Status, Ticket, TicketMessage
from worker.models import OutboundEmail

pytestmark = pytest.mark.django_db

BODY = "L'incident est corrigé : vous pouvez de nouveau vous connecter."


def live_notice(actor):
    notice = notice_create(
        actor=actor,
        title="Connexion impossible",
        text="Incident en cours.",
        level="alert",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=4),
        affected_motifs=["habilitation_extranet"],
    )
    return notice_publish_now(notice=notice, actor=actor)


def linked(notice, *, status=Status.NOUVEAU, queue="habilitation", **kwargs):
    ticket = TicketFactory(status=status, queue=Queue.objects.get(slug=queue), **kwargs)
    notice.tickets.add(ticket)
    return ticket


def test_every_open_linked_ticket_gets_the_reply_and_is_resolved(
    agent, django_capture_on_commit_callbacks
):
    notice = live_notice(agent)
    tickets = [
        linked(notice, status=s) for s in (Status.NOUVEAU, Status.EN_COURS, Status.EN_ATTENTE)
    ]
    unlinked = TicketFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = notice_resolve_linked_tickets(notice=notice, actor=agent, body=BODY)
        # Nothing is sent before the transaction commits.
        assert mail.outbox == []
    assert callbacks
    assert counts == {"resolved": 3, "skipped": 0, "not_accessible": 0, "skipped_references": []}
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.RESOLU
        assert ticket.resolved_at is not None
        assert ticket.first_response_at is not None
        reply = ticket.messages.get()
        assert (reply.kind, reply.body, reply.author) == (MessageKind.REPLY, BODY, agent)
        kinds = list(ticket.events.order_by("id").values_list("kind", "actor", "data"))
        # The reply, then the status change (in the transaction), then the worker's
        # "e-mail sent" (after commit).
        assert [(k, a) for k, a, _ in kinds] == [
            (EventKind.REPLY_SENT, agent.pk),
            (EventKind.STATUS_CHANGED, agent.pk),
            (EventKind.EMAIL_SENT, None),
        ]
        assert kinds[1][2] == {
            "before": ticket_status_before(tickets, ticket),
            "after": Status.RESOLU,
        }
    unlinked.refresh_from_db()
    assert unlinked.status == Status.NOUVEAU and not unlinked.messages.exists()
    # One e-mail per requester, with the reference in the subject.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(t.email for t in tickets)
    for ticket in tickets:
        (sent,) = [m for m in mail.outbox if m.to == [ticket.email]]
        assert f"[{ticket.reference}]" in sent.subject
        assert BODY in sent.body
    event = notice.events.get(kind="linked_tickets_resolved")
    assert event.actor == agent
    assert event.data["resolved"] == 3


def ticket_status_before(tickets, ticket):
    return [Status.NOUVEAU, Status.EN_COURS, Status.EN_ATTENTE][
        [t.pk for t in tickets].index(ticket.pk)
    ]


def test_tickets_that_cannot_be_resolved_are_skipped_and_reported(agent):
    notice = live_notice(agent)
    waiting = linked(notice, status=Status.EN_ATTENTE)
    resolved = linked(notice, status=Status.RESOLU)
    closed = linked(notice, status=Status.CLOS)
    fresh = linked(notice)
    # A state machine where "waiting on the requester" cannot go straight to "résolu".
    transitions = {
        **notice_services.STATUS_TRANSITIONS,
        Status.EN_ATTENTE: frozenset({Status.EN_COURS}),
    }
    with mock.patch.dict(notice_services.STATUS_TRANSITIONS, transitions):
        counts = notice_resolve_linked_tickets(notice=notice, actor=agent, body=BODY)
    assert counts["resolved"] == 1
    assert counts["skipped"] == 3
    assert counts["skipped_references"] == [waiting.reference, resolved.reference, closed.reference]
    for ticket, status in (
        (waiting, Status.EN_ATTENTE),
        (resolved, Status.RESOLU),
        (closed, Status.CLOS),
    ):
        ticket.refresh_from_db()
        assert ticket.status == status
        assert not ticket.messages.exists()
    fresh.refresh_from_db()
    assert fresh.status == Status.RESOLU
    event = notice.events.get(kind="linked_tickets_resolved")
    assert event.data["skipped_references"] == counts["skipped_references"]


def test_an_agent_only_touches_its_own_queues_and_a_supervisor_all(agent, other_agent, supervisor):
    notice = live_notice(supervisor)
    mine = linked(notice)
    elsewhere = linked(notice, queue="general")
    counts = notice_resolve_linked_tickets(notice=notice, actor=agent, body=BODY)
    assert (counts["resolved"], counts["not_accessible"]) == (1, 1)
    elsewhere.refresh_from_db()
    assert elsewhere.status == Status.NOUVEAU and not elsewhere.messages.exists()
    mine.refresh_from_db()
    assert mine.status == Status.RESOLU

    counts = notice_resolve_linked_tickets(notice=notice, actor=supervisor, body=BODY)
    assert counts["resolved"] == 1  # the other queue's ticket; the first is already resolved
    assert counts["skipped_references"] == [mine.reference]
    elsewhere.refresh_from_db()
    assert elsewhere.status == Status.RESOLU
    assert elsewhere.messages.get().author == supervisor


def test_an_empty_reply_is_refused(agent):
    notice = live_notice(agent)
    ticket = linked(notice)
    with pytest.raises(NoticeError, match="La réponse est vide."):
        notice_resolve_linked_tickets(notice=notice, actor=agent, body="  \n ")
    ticket.refresh_from_db()
    assert ticket.status == Status.NOUVEAU


# serialized_rollback, as the other transactional tests: after a plain flush, Django
# recreates the content types, which the next serialized test would then insert twice.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_ticket_failing_halfway_writes_and_sends_nothing(agent):
    """A real transaction (not the test's wrapper): the first ticket's reply and status
    change are rolled back when the second one fails, and no e-mail ever leaves."""
    notice = live_notice(agent)
    tickets = [linked(notice) for _ in range(3)]
    real = notice_services.ticket_change_status
    calls = []

    def fail_on_second(**kwargs):
        calls.append(kwargs["ticket"].pk)
        if len(calls) == 2:
            raise TicketError("Ce ticket a été modifié par quelqu'un d'autre entre-temps.")
        return real(**kwargs)

    events_before = NoticeEvent.objects.count()
    with mock.patch.object(notice_services, "ticket_change_status", side_effect=fail_on_second):
        with pytest.raises(TicketError):
            notice_resolve_linked_tickets(notice=notice, actor=agent, body=BODY)
    assert calls == [tickets[0].pk, tickets[1].pk]
    assert set(Ticket.objects.values_list("status", flat=True)) == {Status.NOUVEAU}
    assert not TicketMessage.objects.exists()
    assert not Ticket.objects.filter(first_response_at__isnull=False).exists()
    assert not OutboundEmail.objects.filter(template="ticket_reply").exists()
    assert NoticeEvent.objects.count() == events_before
    assert not [m for m in mail.outbox if "Réponse" in m.subject]

    # Once the cause is gone, the same action goes through, each reply sent once.
    counts = notice_resolve_linked_tickets(notice=notice, actor=agent, body=BODY)
    assert counts["resolved"] == 3
    replies = [m for m in mail.outbox if "Réponse" in m.subject]
    assert sorted(m.to[0] for m in replies) == sorted(t.email for t in tickets)


# --- the page -----------------------------------------------------------------------------


def test_the_page_shows_the_count_then_asks_for_confirmation(
    agent, verified_client, django_capture_on_commit_callbacks
):
    notice = live_notice(agent)
    tickets = [linked(notice), linked(notice, status=Status.EN_COURS)]
    linked(notice, queue="general")
    linked(notice, status=Status.CLOS)
    client = verified_client(agent)

    detail = client.get(reverse("backoffice:notice_detail", args=[notice.pk])).content.decode()
    assert "dont <strong>2</strong> ouvert(s) dans vos files et 1 ouvert(s)" in detail
    url = reverse("backoffice:notice_resolve", args=[notice.pk])
    assert url in detail

    page = client.get(url)
    assert page.status_code == 200
    assert "!!MISSING" not in page.content.decode()
    assert "<strong>2</strong> ticket(s) ouvert(s)" in page.content.decode()
    for ticket in tickets:
        assert ticket.reference in page.content.decode()

    # Step 1: the reply is typed; nothing is written yet, a confirmation is asked.
    confirm = client.post(url, data={"body": BODY})
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert 'data-testid="resolve-confirm"' in html
    assert "Confirmer : répondre et résoudre 2 ticket(s)" in html
    assert 'name="confirm" value="True"' in html
    assert not TicketMessage.objects.exists()

    # Step 2: confirmed.
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, data={"body": BODY, "confirm": "True"}, follow=True)
    assert done.redirect_chain == [(reverse("backoffice:notice_detail", args=[notice.pk]), 302)]
    shown = [str(m) for m in done.context["messages"]]
    assert shown[0] == ("2 ticket(s) résolu(s) ; la réponse part par courriel à chaque demandeur.")
    assert any("1 ticket(s) ignoré(s)" in m for m in shown)
    assert any("1 ticket(s) ouvert(s) rattaché(s)" in m for m in shown)
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.RESOLU
    assert len(mail.outbox) == 2
    assert "Réponse groupée aux tickets rattachés" in done.content.decode()


def test_the_page_refuses_an_empty_reply_in_french(agent, verified_client):
    notice = live_notice(agent)
    linked(notice)
    client = verified_client(agent)
    url = reverse("backoffice:notice_resolve", args=[notice.pk])
    response = client.post(url, data={"body": "", "confirm": "True"})
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in response.content.decode()
    assert not TicketMessage.objects.exists()


def test_a_ticket_error_is_reported_and_nothing_changes(agent, verified_client):
    notice = live_notice(agent)
    ticket = linked(notice)
    client = verified_client(agent)
    url = reverse("backoffice:notice_resolve", args=[notice.pk])
    with mock.patch.object(
        notice_services, "ticket_reply", side_effect=TicketError("Ce ticket est clos.")
    ):
        response = client.post(url, data={"body": BODY, "confirm": "True"})
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Aucun ticket n'a été modifié : Ce ticket est clos."
    ]
    ticket.refresh_from_db()
    assert ticket.status == Status.NOUVEAU


def test_an_agent_of_another_queue_has_nothing_to_resolve(agent, other_agent, verified_client):
    notice = live_notice(agent)
    ticket = linked(notice)
    client = verified_client(other_agent)
    url = reverse("backoffice:notice_resolve", args=[notice.pk])
    page = client.get(url).content.decode()
    assert "<strong>0</strong> ticket(s) ouvert(s)" in page
    assert ticket.reference not in page
    client.post(url, data={"body": BODY, "confirm": "True"})
    ticket.refresh_from_db()
    assert ticket.status == Status.NOUVEAU
