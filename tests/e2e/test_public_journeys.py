"""A company's journeys on the public side, in a real browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import captcha_answer
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_s8_assistance_request_is_filed_routed_and_acknowledged(live_server, page, console_errors):
    page.goto(f"{live_server.url}/assistance/")
    expect(page.get_by_role("heading", name="Besoin d'aide ?")).to_be_visible()
    # A first try with mistakes: French messages, nothing lost.
    page.get_by_label("N° de Siret").fill("732 829 320 00075")
    page.get_by_label("Dénomination établissement").fill("Boulangerie du Marché")
    page.get_by_label("Nom et prénom").fill("Jeanne Nouvelle")
    page.get_by_label("N° de téléphone").fill("0692 12 34 56")
    page.get_by_label("Adresse électronique").fill("jeanne.nouvelle@exemple.fr")
    page.get_by_label("Motif de la demande").select_option(label="Habilitation à l'extranet")
    page.get_by_label("Description de la demande").fill("L'ancien gestionnaire est parti.")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("Le numéro de SIRET est invalide")).to_be_visible()
    expect(page.get_by_label("Nom et prénom")).to_have_value("Jeanne Nouvelle")

    page.get_by_label("N° de Siret").fill("732 829 320 00074")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", name="Votre demande a bien été reçue")).to_be_visible()
    # No reference on the page (the repeat rule is no oracle); it arrives by e-mail.
    ticket = Ticket.objects.get(email="jeanne.nouvelle@exemple.fr")
    reference = ticket.reference
    expect(page.get_by_text(reference)).to_have_count(0)
    assert ticket.queue.slug == "habilitation"
    assert ticket.phone == "+262692123456"
    assert [m.to for m in mail.outbox] == [["jeanne.nouvelle@exemple.fr"]]
    assert reference in mail.outbox[0].subject
    assert console_errors == []


def test_s9_a_published_notice_shows_on_public_pages_and_goes_away_at_its_end(
    live_server, page, supervisor
):
    from backoffice.notices.services import notice_create, notice_schedule, notices_sweep

    now = timezone.now()
    notice = notice_create(
        actor=supervisor,
        title="Information",
        text="Un incident technique s'est produit sur l'extranet activité partielle hier.",
        level="warning",
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(minutes=5),
    )
    notice_schedule(notice=notice, actor=supervisor)
    page.goto(f"{live_server.url}/assistance/")
    expect(page.get_by_test_id("incident-notice")).to_have_count(0)

    notices_sweep(now=now + timedelta(seconds=2))
    page.reload()
    expect(page.get_by_test_id("incident-notice")).to_contain_text("Un incident technique")

    notices_sweep(now=now + timedelta(minutes=5, seconds=1))
    page.reload()
    expect(page.get_by_test_id("incident-notice")).to_have_count(0)
