"""The repeat rule is no oracle (issue 12, point 4): the public form answers the same
page whether or not an open ticket matches, shows no reference, and a repeated request
is kept as a message of its own kind, marked with the address typed and its channel,
never taken for the requester's own words; the acknowledgement goes to the address on
record only."""

from __future__ import annotations

import pytest
from django.core import mail
from pytest_django.asserts import assertContains, assertNotContains

from tests.backoffice.test_assistance_form import URL, with_captcha
from tests.support.intake import cleaned, submit
from tickets.followup import followup_page
from tickets.models import EventKind, MessageKind, Source, Ticket
from tickets.services.intake import _attach_to_open_ticket

pytestmark = pytest.mark.django_db


def _post(client, data, capture):
    with capture(execute=True):
        return client.post(URL, with_captcha(client, data), follow=True)


def _visible_text(response) -> str:
    """The page's main content, without the parts that differ per request (CSRF token)."""
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def test_the_page_is_the_same_whether_or_not_a_similar_request_is_open(
    client, valid_request_data, django_capture_on_commit_callbacks
):
    first = _post(client, valid_request_data, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    # Someone else types the same SIRET, motif and address.
    intruder = {**valid_request_data, "requester_name": "Quelqu'un", "description": "Écrit par X"}
    second = _post(client, intruder, django_capture_on_commit_callbacks)

    assert Ticket.objects.count() == 1
    assert _visible_text(first) == _visible_text(second)
    for response in (first, second):
        assertNotContains(response, ticket.reference)
        assertNotContains(response, "identique")
        assertContains(response, "Votre demande a bien été reçue")


def test_a_repeated_request_is_a_message_of_its_own_marked_with_address_and_channel(
    valid_request_data,
):
    first = submit(valid_request_data).ticket
    again = submit({**valid_request_data, "description": "Relance anonyme"}, source=Source.FORM)
    assert again.ticket.pk == first.pk
    repeated = first.messages.get(kind=MessageKind.REPEATED_REQUEST)
    assert repeated.body == "Relance anonyme"
    assert repeated.received_from == "claire.dupont@exemple.fr"
    assert repeated.received_via == Source.FORM
    # The requester's own request stays the only REQUEST message.
    assert list(first.messages.filter(kind=MessageKind.REQUEST).values_list("body", flat=True)) == [
        valid_request_data["description"]
    ]
    event = first.events.get(kind=EventKind.REQUEST_REPEATED)
    assert event.data["address_differs"] is False
    assert "claire.dupont@exemple.fr" not in str(event.data)  # on the message only (erasable)


def test_an_address_differing_from_the_tickets_is_flagged_and_gets_no_e_mail(
    valid_request_data, django_capture_on_commit_callbacks
):
    """Today the address is part of the match, so the lookup never joins a ticket with
    another address; the attach step still flags one and never writes to it (kept safe
    should the rule widen)."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(valid_request_data).ticket
    mail.outbox.clear()
    data = {**cleaned(valid_request_data), "email": "intrus@exemple.fr"}
    with django_capture_on_commit_callbacks(execute=True):
        _attach_to_open_ticket(ticket, data, Source.FORM)
    event = ticket.events.get(kind=EventKind.REQUEST_REPEATED)
    assert event.data["address_differs"] is True
    assert ticket.messages.get(kind=MessageKind.REPEATED_REQUEST).received_from == (
        "intrus@exemple.fr"
    )
    assert [m.to for m in mail.outbox] == [[ticket.email]]
    assert all("intrus@exemple.fr" not in m.to for m in mail.outbox)


def test_the_agents_page_shows_who_typed_it_and_flags_another_address(
    agent, verified_client, valid_request_data
):
    ticket = submit(valid_request_data).ticket
    submit({**valid_request_data, "description": "Texte venu du formulaire"})
    response = verified_client(agent).get(f"/backoffice/tickets/{ticket.pk}/")
    assertContains(response, 'data-testid="repeated-request"')
    assertContains(response, "reçue par le formulaire public, adresse claire.dupont@exemple.fr")
    assertContains(response, "Texte venu du formulaire")
    assertNotContains(response, 'data-testid="address-differs"')

    Ticket.objects.filter(pk=ticket.pk).update(email="claire.nouvelle@exemple.fr")
    response = verified_client(agent).get(f"/backoffice/tickets/{ticket.pk}/")
    assertContains(response, 'data-testid="address-differs"')
    assertContains(response, "Adresse différente de celle de la demande")


def test_the_acknowledgement_of_a_repeat_goes_to_the_address_on_record_only(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(valid_request_data).ticket
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit({**valid_request_data, "description": "Encore"})
    [ack] = mail.outbox
    assert ack.to == [ticket.email]
    assert ticket.reference in ack.subject
    assert "Si vous n'en êtes pas l'auteur" in ack.body


def test_the_requesters_follow_up_page_does_not_show_a_repeated_request(valid_request_data):
    ticket = submit(valid_request_data).ticket
    submit({**valid_request_data, "description": "Texte d'un tiers"})
    page = followup_page(ticket=Ticket.objects.get(pk=ticket.pk))
    assert "Texte d'un tiers" not in [m.body for m in page.messages]


def test_the_address_typed_with_a_repeated_request_is_erased_with_the_ticket(
    valid_request_data, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.models import Status
    from tickets.services.retention import tickets_anonymize_expired

    ticket = submit(valid_request_data).ticket
    submit({**valid_request_data, "description": "Encore"})
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.CLOS, closed_at=timezone.now() - timedelta(days=4000)
    )
    assert tickets_anonymize_expired() == 1
    repeated = ticket.messages.get(kind=MessageKind.REPEATED_REQUEST)
    assert repeated.received_from == ""
    assert repeated.body != "Encore"
