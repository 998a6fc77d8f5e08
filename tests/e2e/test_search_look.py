"""The search box (issue 13), as an agent uses it: typed in the header of any back-office
page, a SIRET lists that establishment's tickets of the agent's queues, a reference opens
the ticket. Looked at 1366×900 and 390×844 and checked by axe-core."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import backoffice_session
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_search_from_the_header(viewport, live_server, checked_context, output_dir, agent):
    tickets = [
        TicketFactory(siret="73282932000074", email=f"demandeur{i}@exemple.fr") for i in range(3)
    ]
    page = checked_context(viewport)
    backoffice_session(page, live_server.url, agent)
    look = Inspector(page, output_dir / "search" / viewport, viewport)
    page.goto(live_server.url + reverse("backoffice:my_tickets"))
    box = page.get_by_role("searchbox", name="Rechercher un ticket")
    if not box.is_visible():  # a phone: the header's search sits behind its button
        page.get_by_role("button", name="Rechercher un ticket").click()
    expect(box).to_be_visible()
    box.fill("732 829 320 00074")
    box.press("Enter")
    expect(page.get_by_test_id("search-results")).to_be_visible()
    for ticket in tickets:
        expect(page.get_by_role("link", name=ticket.reference)).to_be_visible()
    look.look("resultats-siret")

    page.goto(live_server.url + reverse("backoffice:search") + f"?q={tickets[0].reference}")
    expect(page.get_by_role("heading", name=tickets[0].reference, exact=False)).to_be_visible()
    look.look("reference-ouvre-le-ticket")

    page.goto(live_server.url + reverse("backoffice:search") + "?q=menuiserie")
    expect(page.get_by_test_id("search-empty")).to_be_visible()
    look.look("aucun-resultat")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
