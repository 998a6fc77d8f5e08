"""The agent's common path on the ticket page (issue 13): from the search results, open
the ticket, insert a canned reply (in place, no page load), "Répondre et résoudre" with
"then the next ticket", and land on the next ticket of the queue: three full page loads
from the search results to the next ticket. Looked at 1366×900 and 390×844 (axe-core
fails the journey on a critical or serious issue); then the supervisors' canned reply
pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import backoffice_session
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import TicketFactory
from tickets.models import CannedReply, Motif, Queue, Status, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANNED_BODY = (
    "Bonjour {demandeur},\n\nLe compte extranet de {denomination} est rattaché à son "
    "titulaire actuel. Déposez les pièces depuis votre espace de suivi : {lien_de_suivi}\n\n"
    "Votre demande {reference} reste en attente de ces documents."
)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_search_open_insert_reply_resolve_and_next(
    viewport, live_server, checked_context, output_dir, agent, supervisor
):
    now = timezone.now()
    queue = Queue.objects.get(slug="habilitation")
    siret = "73282932000074"
    ticket = TicketFactory(
        siret=siret,
        denomination="<script>Fournil</script> & Fils",
        requester_name="Claire Dupont",
        assignee=agent,
        status=Status.EN_COURS,
        description="Notre gestionnaire est partie, merci de réattribuer le compte.",
        created_at=now - timedelta(hours=5),
    )
    following = TicketFactory(created_at=now - timedelta(hours=3))
    TicketFactory(created_at=now - timedelta(hours=1))
    canned = CannedReply.objects.create(
        queue=queue,
        motif=Motif.HABILITATION_EXTRANET,
        title="Réattribution : pièces à fournir",
        body=CANNED_BODY,
        created_at=now,
        updated_at=now,
    )
    CannedReply.objects.create(
        queue=queue, title="Accusé de réception", body="Bonjour {demandeur}.",
        created_at=now, updated_at=now,
    )  # fmt: skip

    page = checked_context(viewport)
    backoffice_session(page, live_server.url, agent)
    look = Inspector(page, output_dir / "ticket-page" / viewport, viewport)
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))

    # 1: the search results.
    page.goto(live_server.url + reverse("backoffice:search") + f"?q={siret}")
    expect(page.get_by_role("link", name=ticket.reference)).to_be_visible()
    # 2: the ticket.
    page.get_by_role("link", name=ticket.reference).click()
    expect(page.get_by_role("heading", name=ticket.reference)).to_be_visible()
    box = page.get_by_label("Répondre au demandeur")
    if viewport == "desktop-1366":
        # The reply box on the first screen (under the header badges).
        top = box.bounding_box()["y"]
        assert top + 100 < VIEWPORTS[viewport]["height"], top
    look.look("ticket")

    # Insert the canned reply: in place (JavaScript), no page load.
    page.get_by_label("Réponse type", exact=True).select_option(
        label=f"{canned.title} (Habilitation à l'extranet)"
    )
    page.get_by_role("button", name="Insérer").click()
    expect(box).to_have_value(re.compile(r"^Bonjour Claire Dupont,"))
    text = box.input_value()
    assert "Le compte extranet de <script>Fournil</script> & Fils est rattaché" in text
    assert f"Votre demande {ticket.reference} reste en attente" in text
    assert "{lien_de_suivi}" in text  # filled in the e-mail when it leaves
    expect(page.locator("#canned-reply-status")).to_contain_text("insérée")
    box.press("End")
    box.type("\n\nCordialement.")
    look.look("reponse-type-inseree")

    # 3: "Répondre et résoudre", then the next ticket.
    take_next = page.get_by_label("Après « Répondre et résoudre » : prendre le ticket suivant")
    page.locator("label[for=reply-take-next]").click()  # DSFR draws the box on the label
    expect(take_next).to_be_checked()
    page.get_by_role("button", name="Répondre et résoudre").click()
    expect(page.get_by_role("heading", name=following.reference)).to_be_visible()
    expect(
        page.get_by_text(f"Ticket suivant : {following.reference} vous est assigné.")
    ).to_be_visible()
    look.look("ticket-suivant")
    assert len(loads) == 3, loads

    ticket.refresh_from_db()
    following.refresh_from_db()
    canned.refresh_from_db()
    assert ticket.status == Status.RESOLU
    assert following.assignee == agent and following.status == Status.EN_COURS
    assert canned.usage_count == 1
    [sent] = [m for m in mail.outbox if m.to == [ticket.email]]
    assert "Le compte extranet de <script>Fournil</script> & Fils est rattaché" in sent.body
    assert "{lien_de_suivi}" not in sent.body
    assert re.search(r"espace de suivi : https?://\S+/suivi/[\w-]+/\s", sent.body), sent.body
    assert sent.body.rstrip().count("Cordialement.") == 1
    # The next ticket's page remembers the choice.
    expect(
        page.get_by_label("Après « Répondre et résoudre » : prendre le ticket suivant")
    ).to_be_checked()
    assert Ticket.objects.filter(assignee=agent).count() == 2

    # The supervisors' pages.
    page.context.clear_cookies()
    backoffice_session(page, live_server.url, supervisor)
    page.goto(live_server.url + reverse("backoffice:canned_replies"))
    expect(page.get_by_test_id("canned-replies-table")).to_contain_text(canned.title)
    look.look("reponses-types")
    page.get_by_role("link", name=canned.title).click()
    page.locator("textarea[name=body]").fill("Bonjour {nom}, votre demande {reference}.")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Champ inconnu : {nom}.")).to_be_visible()
    expect(page.locator("textarea[name=body]")).to_have_value(
        "Bonjour {nom}, votre demande {reference}."
    )
    look.look("reponse-type-erreur")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
