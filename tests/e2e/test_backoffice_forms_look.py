"""The two back-office forms the public-side issue named as broken (the reassignment
preparation and the notice scheduling), looked at in the site's one form layout at
1366×900 and 390×844, and checked by axe-core (critical or serious fails)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.helpers import record_siret_verification
from tests.e2e.conftest import backoffice_session, totp_code
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import (
    STAFF_TEST_PASSWORD,
    EstablishmentFactory,
    ExtranetAccountFactory,
    TicketFactory,
    TOTPDeviceFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_prepare_and_schedule_forms_are_laid_out_and_pass_axe(
    viewport, live_server, checked_context, output_dir, agent
):
    from backoffice.notices.services import notice_create

    establishment = EstablishmentFactory(siret="73282932000074")
    ExtranetAccountFactory(establishment=establishment, with_password=True)
    ticket = TicketFactory(siret=establishment.siret, establishment=establishment)
    record_siret_verification(ticket, actor=agent)
    notice = notice_create(
        actor=agent,
        title="Information",
        text="Un incident technique s'est produit sur l'extranet activité partielle hier.",
        level="info",
        starts_at=timezone.now() + timedelta(days=1),
    )

    page = checked_context(viewport)
    backoffice_session(page, live_server.url, agent)
    look = Inspector(page, output_dir / "backoffice-forms" / viewport, viewport)

    page.goto(live_server.url + reverse("backoffice:reassignment_prepare", args=[ticket.reference]))
    expect(page.get_by_role("heading", name="Réattribuer le compte extranet")).to_be_visible()
    look.look("preparer-reattribution")
    page.get_by_label("Courriel du nouveau titulaire").fill("pas-une-adresse")
    page.get_by_role("button", name="Préparer la réattribution").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    look.look("preparer-reattribution-erreurs")

    page.goto(live_server.url + reverse("backoffice:notice_detail", args=[notice.pk]))
    expect(page.get_by_test_id("schedule-form")).to_be_visible()
    look.look("programmer-bandeau")
    page.get_by_test_id("schedule-form").get_by_label("Début").fill("")
    page.get_by_role("button", name="Programmer", exact=True).click()
    look.look("programmer-bandeau-erreurs")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_pending_list_and_approval_page_are_laid_out_and_pass_axe(
    viewport, live_server, checked_context, output_dir, agent, supervisor
):
    """Case 2.1's approval page with everything it can show: a near-miss name with its
    justification, a document the preparer checked, two risk signals (so two approvers)."""
    from datetime import date

    from accounts.extranet.reassignment import reassignment_prepare
    from establishments.models import RegistryEstablishment
    from tests.support.documents import attach
    from tickets.verification import ticket_siret_verify

    establishment = EstablishmentFactory(
        siret="73282932000074", denomination="Boulangerie du Marché",
        email="contact@boulangerie-marche.fr",
    )  # fmt: skip
    ExtranetAccountFactory(establishment=establishment, with_password=True)
    RegistryEstablishment.objects.create(
        siret=establishment.siret, siren=establishment.siret[:9], administrative_status="A",
        denomination="BOULANGERIE DU MARCHE", street_name="RUE DES HALLES",
        postal_code="69007", city="LYON", started_on=date.today() - timedelta(days=30),
    )  # fmt: skip
    ticket = TicketFactory(
        siret=establishment.siret, establishment=establishment,
        denomination="Boulangerie du Marché Nord", requester_name="Claire Dupont",
        email="boulangerie.marche.nord@gmail.com",
    )  # fmt: skip
    document = attach(ticket, name="kbis-boulangerie.pdf")
    ticket_siret_verify(
        ticket=ticket, actor=agent, verdict="passed", comment="Kbis et appel au standard.",
        name_justification="Enseigne « Nord » sur la devanture ; le Kbis porte le nom du registre.",
    )  # fmt: skip
    reassignment = reassignment_prepare(
        ticket=ticket, actor=agent, new_holder_last_name="Dupont",
        new_holder_first_name="Claire", new_holder_email="boulangerie.marche.nord@gmail.com",
        new_holder_phone="+33102030405",
        evidence_notes="Appel au standard de l'établissement : la gérante confirme.",
        checked_documents=[document.pk],
    ).reassignment  # fmt: skip

    page = checked_context(viewport)
    backoffice_session(page, live_server.url, supervisor)
    look = Inspector(page, output_dir / "reassignments" / viewport, viewport)
    width = VIEWPORTS[viewport]["width"]

    page.goto(live_server.url + reverse("backoffice:reassignment_list"))
    expect(page.get_by_test_id("pending-list")).to_contain_text("Messagerie gratuite")
    expect(page.get_by_test_id("pending-list")).to_contain_text("Dénomination non identique")
    look.look("reattributions-en-attente")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(live_server.url + reverse("backoffice:reassignment_detail", args=[reassignment.pk]))
    expect(page.get_by_test_id("signals")).to_contain_text("Deux superviseurs différents")
    expect(page.get_by_test_id("siret-checks")).to_contain_text("justification exigée")
    look.look("approbation")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_login_and_second_factor_pages_are_laid_out_and_pass_axe(
    viewport, live_server, checked_context, output_dir, agent, typed_secrets
):
    typed_secrets.add(STAFF_TEST_PASSWORD)
    device = TOTPDeviceFactory(user=agent)
    page = checked_context(viewport)
    look = Inspector(page, output_dir / "backoffice-login" / viewport, viewport)

    page.goto(live_server.url + reverse("backoffice:login"))
    look.look("connexion")
    page.get_by_label("Adresse électronique").fill(agent.email)
    page.get_by_label("Mot de passe").fill(STAFF_TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Code de vérification")).to_be_visible()
    look.look("code-de-verification")
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    page.get_by_label("Code à 6 chiffres").fill(wrong)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", name="Code de vérification")).to_be_visible()
    look.look("code-de-verification-erreur")
    # (The right code right after a wrong one meets django-otp's throttling: not looked at.)
    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
