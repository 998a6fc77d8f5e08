"""The ticket page shows the request and every exchange of the ticket, escaped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.intake import submit
from tickets.services import ticket_note_add

pytestmark = pytest.mark.django_db


def test_the_request_and_a_note_are_on_the_page_escaped(valid_request_data, agent, verified_client):
    valid_request_data["description"] = "Accès perdu <script>alert(1)</script> n° 4471."
    ticket = submit(valid_request_data).ticket
    ticket.queue.members.add(agent)
    ticket_note_add(ticket=ticket, actor=agent, body="Appelé le demandeur & laissé un message.")
    html = verified_client(agent).get(reverse("backoffice:ticket_detail", args=[ticket.pk]))
    page = html.content.decode()
    exchanges = page[page.index('id="messages-title"') : page.index('name="note-body"')]
    assert "Accès perdu &lt;script&gt;alert(1)&lt;/script&gt; n° 4471." in exchanges
    assert "<script>alert(1)" not in page
    assert "Appelé le demandeur &amp; laissé un message." in exchanges
