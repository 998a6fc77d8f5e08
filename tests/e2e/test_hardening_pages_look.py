"""The pages issue 12 (part B) changed, looked at in 1366×900 and 390×844 and checked by
axe-core (critical or serious fails): a ticket whose requester's request was received
again through the public form (marked, not attributed to the requester), and the
second-factor page of a new staff account (a link was e-mailed; no QR code yet)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import backoffice_session
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import UserFactory
from tests.support.intake import submit
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Mot-de-passe-de-test-2026"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_repeated_request_and_the_enrolment_page_look_right(
    viewport, live_server, checked_context, output_dir, agent, valid_request_data
):
    ticket = submit(valid_request_data).ticket
    submit({**valid_request_data, "description": "Texte reçu une seconde fois."})
    Ticket.objects.filter(pk=ticket.pk).update(email="claire.nouvelle@exemple.fr")

    look = Inspector(
        page := checked_context(viewport), output_dir / "hardening" / viewport, viewport
    )
    backoffice_session(page, live_server.url, agent)
    page.goto(live_server.url + reverse("backoffice:ticket_detail", args=[ticket.pk]))
    expect(page.get_by_test_id("repeated-request")).to_be_visible()
    expect(page.get_by_test_id("address-differs")).to_be_visible()
    look.look("ticket-demande-recue-a-nouveau")

    newcomer = UserFactory(email="nouvel.agent@asp.example")  # password: PASSWORD
    other = checked_context(viewport)
    other.goto(live_server.url + reverse("backoffice:login"))
    other.get_by_label("Adresse électronique").fill(newcomer.email)
    other.get_by_label("Mot de passe").fill(PASSWORD)
    other.get_by_role("button", name="Se connecter").click()
    expect(other.get_by_text("Un lien vous a été envoyé")).to_be_visible()
    look.page = other
    look.look("second-facteur-lien-envoye")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
