"""The requester's side end to end (issue 10), in a real browser: a request filed on the
public form, the acknowledgement's link to the follow-up page, the agent asking for the
documents of case 2.1 (the ticket waits on the requester), the requester answering with a
PDF and a photo (the ticket is open again, its SLA pause closed), the agent downloading and
previewing both, and the reassignment preparation listing them."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import backoffice_sign_in, captcha_answer, mail_links
from tests.e2e.looking import Inspector
from tests.factories import TOTPDeviceFactory
from tests.support.documents import jpeg_bytes, pdf_bytes
from tickets.models import SlaPause, Status, Ticket, TicketDocument

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AGENT_PASSWORD = "Mot-de-passe-de-test-2026"  # tests.factories.UserFactory


def followup_path(message) -> str:
    [path] = [path for path, _token in mail_links(message) if path.startswith("/suivi/")]
    return path


def test_the_requester_follows_answers_and_sends_documents(
    live_server, checked_context, output_dir, new_context, agent, tmp_path, typed_secrets
):
    typed_secrets.add(AGENT_PASSWORD)
    base = live_server.url
    # The requester's browser: its pages are screenshotted into test-results/requester/ and
    # checked by axe-core (the context bypasses the CSP only so that axe can be injected).
    page = checked_context("desktop-1366")
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    look = Inspector(page, output_dir / "requester" / "desktop-1366", "desktop-1366")

    # The request, on the public form.
    page.goto(f"{base}/assistance/")
    page.get_by_label("N° de Siret").fill("732 829 320 00074")
    page.get_by_label("Dénomination établissement").fill("Boulangerie du Marché")
    page.get_by_label("Nom et prénom").fill("Claire Dupont")
    page.get_by_label("N° de téléphone").fill("01 02 03 04 05")
    page.get_by_label("Adresse électronique").fill("claire.dupont@boulangerie.exemple.fr")
    page.get_by_label("Motif de la demande").select_option(label="Habilitation à l'extranet")
    page.get_by_label("Description de la demande").fill("L'ancienne gérante est partie.")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", name="Votre demande a bien été reçue")).to_be_visible()
    ticket = Ticket.objects.get(email="claire.dupont@boulangerie.exemple.fr")
    reference = ticket.reference

    # The acknowledgement's link opens the follow-up page, and leaves the address bar.
    [ack] = mail.outbox
    page.goto(f"{base}{followup_path(ack)}")
    expect(page.get_by_role("heading", name=f"Votre demande {reference}")).to_be_visible()
    assert page.url == f"{base}/suivi/"
    expect(page.get_by_test_id("followup-status")).to_have_text(
        "Reçue, en attente de prise en charge"
    )
    look.look("suivi-demande-recue")

    # The agent takes it and asks for the documents of case 2.1.
    agent_page = new_context().new_page()
    agent_page.set_default_timeout(8_000)
    backoffice_sign_in(
        agent_page, base, email=agent.email, password=AGENT_PASSWORD,
        device=TOTPDeviceFactory(user=agent),
    )  # fmt: skip
    agent_page.goto(f"{base}/backoffice/files/habilitation/")
    agent_page.get_by_role("button", name="Prendre le ticket suivant").click()
    expect(agent_page.get_by_role("heading", name=re.compile(reference))).to_be_visible()
    agent_page.get_by_text("Demander les justificatifs (réattribution du compte)").click()
    agent_page.get_by_role("button", name="Envoyer la demande de justificatifs").click()
    expect(agent_page.get_by_text("Justificatifs demandés : la réponse part")).to_be_visible()
    expect(
        agent_page.locator(".fr-badge").filter(has_text="En attente du demandeur")
    ).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_ATTENTE
    reply = mail.outbox[-1]
    assert "Extrait Kbis de moins de trois mois" in reply.body

    # The requester answers with a PDF and a photo, from the reply's own link.
    kbis = tmp_path / "Kbis société.pdf"
    kbis.write_bytes(pdf_bytes())
    photo = tmp_path / "photo-cni.jpg"
    photo.write_bytes(jpeg_bytes())
    page.goto(f"{base}{followup_path(reply)}")
    expect(page.get_by_test_id("followup-status")).to_have_text("En attente de votre réponse")
    expect(page.get_by_test_id("expected-documents")).to_contain_text("à envoyer")
    page.get_by_label("Votre message").fill("Voici le Kbis et ma pièce d'identité.")
    page.get_by_label("Extrait Kbis de moins de trois mois").set_input_files(str(kbis))
    page.get_by_label("Pièce d'identité").set_input_files(str(photo))
    look.look("suivi-justificatifs-demandes")
    page.get_by_role("button", name="Envoyer ma réponse").click()
    expect(page.get_by_text("Votre réponse est transmise")).to_be_visible()
    expect(page.get_by_test_id("sent-documents")).to_contain_text("Kbis société.pdf")
    expect(page.get_by_test_id("sent-documents")).to_contain_text("photo-cni.jpg")
    expect(page.get_by_test_id("followup-status")).to_have_text("En cours de traitement")
    look.look("suivi-reponse-envoyee")

    # Open again, its SLA pause closed.
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS
    assert ticket.sla_paused_at is None
    assert SlaPause.objects.get(ticket=ticket).ended_at is not None
    assert TicketDocument.objects.filter(ticket=ticket).count() == 2

    # The agent sees it unread, downloads and previews both.
    agent_page.get_by_role("link", name="Mes tickets").click()
    expect(agent_page.locator("tbody tr").filter(has_text=reference)).to_contain_text(
        "Réponse non lue"
    )
    agent_page.get_by_role("link", name=reference).click()
    expect(agent_page.get_by_text("Le demandeur a répondu")).to_be_visible()
    for name, content_type in (("Kbis société.pdf", "pdf"), ("photo-cni.jpg", "jpeg")):
        with agent_page.expect_download() as download:
            agent_page.get_by_role("link", name=f"Télécharger {name}").click()
        assert download.value.suggested_filename == name
        saved = tmp_path / f"downloaded-{content_type}"
        download.value.save_as(saved)
        assert saved.read_bytes() == (kbis if content_type == "pdf" else photo).read_bytes()
        agent_page.get_by_text(f"Aperçu de {name}").click()
        preview = agent_page.get_by_role("img", name=re.compile(f"Aperçu de {re.escape(name)}"))
        expect(preview).to_be_visible()
        agent_page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
        )
    agent_page.reload()
    timeline = agent_page.locator("ol.bo-timeline")
    expect(timeline).to_contain_text("Document téléchargé : Kbis société.pdf")
    expect(timeline).to_contain_text("Document affiché (aperçu) : photo-cni.jpg")

    # The reassignment preparation lists them, to be ticked.
    agent_page.goto(f"{base}/backoffice/demandes/{reference}/reattribution/")
    documents = agent_page.get_by_test_id("prepare-documents")
    expect(documents).to_contain_text("Kbis société.pdf")
    expect(documents).to_contain_text("photo-cni.jpg")
    expect(
        agent_page.get_by_label(re.compile("Extrait Kbis de moins de trois mois — Kbis"))
    ).to_be_visible()
    assert console_errors == []
    # A link that no longer works: the page that says so (a 410, which the console notes).
    page.goto(f"{base}/suivi/un-lien-qui-n-existe-pas/")
    expect(page.get_by_role("heading", name="Ce lien de suivi n'est plus valable")).to_be_visible()
    look.look("suivi-lien-invalide")
    look.save_report()
    assert look.blocking() == []
