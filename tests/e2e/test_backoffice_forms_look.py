"""The two back-office forms the public-side issue named as broken (the reassignment
preparation and the notice scheduling), looked at in the site's one form layout at
1366×900 and 390×844, and checked by axe-core (critical or serious fails)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.helpers import record_siret_verification
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import EstablishmentFactory, ExtranetAccountFactory, TicketFactory
from tests.support.auth import otp_login

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
    client = otp_login(Client(), agent)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
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
