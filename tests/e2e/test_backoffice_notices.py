"""An agent writes a notice in a real browser: the live preview (htmx, under the strict
CSP) shows the public banner with the text escaped, then the notice is created."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.notices.models import IncidentNotice
from tests.e2e.conftest import backoffice_session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_notice_form_previews_the_banner_live(live_server, page, console_errors, agent):
    backoffice_session(page, live_server.url, agent)
    page.goto(f"{live_server.url}/backoffice/bandeaux/nouveau/")
    expect(page.get_by_role("heading", name="Nouveau bandeau d'incident")).to_be_visible()
    page.get_by_label("Titre").fill("Incident <i>extranet</i>")
    page.get_by_label("Texte").fill("Connexion <b>impossible</b> ce matin.")
    page.get_by_label("Niveau").select_option("alert")
    preview = page.get_by_test_id("notice-preview")
    expect(preview).to_contain_text("Connexion <b>impossible</b> ce matin.")
    expect(preview).to_contain_text("Incident <i>extranet</i>")
    expect(preview.locator(".fr-notice--alert")).to_be_visible()
    assert preview.locator("b").count() == 0

    page.get_by_label("Début").fill("2030-06-15T14:00")
    page.get_by_role("button", name="Créer le bandeau (brouillon)").click()
    expect(page.get_by_text("Bandeau créé (brouillon)")).to_be_visible()
    notice = IncidentNotice.objects.get()
    assert notice.text == "Connexion <b>impossible</b> ce matin."
    assert notice.level == "alert"
    # Nothing in the console: no CSP refusal, no htmx error, no DSFR error (its header
    # script finds the menu it expects since templates/base.html has one).
    assert console_errors == []
