"""The agent's day and case 2.1 end to end, in a real browser: login with the second factor,
the Habilitation queue, a SIRET searched from the header's box, the ticket, a canned reply,
"Répondre et résoudre" and the next ticket in three page loads; the supervisor's landing
on the dashboard; then an
account reassignment prepared by an agent, approved by a different supervisor, applied
after the waiting period, and the new holder's first login."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts.extranet.models import AccountReassignment, ReassignmentState
from accounts.extranet.reassignment import reassignments_apply_due
from tests.e2e.conftest import (
    backoffice_sign_in,
    captcha_answer,
    extranet_sign_in,
    mail_identifiant,
    mail_link_path,
)
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import (
    EXTRANET_TEST_PASSWORD,
    VALID_SIRETS,
    EstablishmentFactory,
    ExtranetAccountFactory,
    RegistryEstablishmentFactory,
    TicketFactory,
    TOTPDeviceFactory,
)
from tests.support.documents import attach
from tickets.models import CannedReply, Motif, Queue, Status, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AGENT_PASSWORD = "Mot-de-passe-de-test-2026"  # tests.factories.UserFactory
NEW_HOLDER_PASSWORD = "Nouvelle-Gerante-Fournil-42"


def timeline(page):
    return page.locator("ol.bo-timeline")


def other_browser(new_context):
    """A second person's browser (own cookies); screenshotted too if the journey fails."""
    page = new_context().new_page()
    page.set_default_timeout(8_000)
    return page


def row(page, reference: str):
    return page.locator("tbody tr").filter(has_text=reference)


def record_passed_verdict(page, siret: str, comment: str) -> None:
    # The panel loads on its own through htmx after the page.
    expect(page.get_by_role("heading", name=f"Vérification du SIRET {siret}")).to_be_visible()
    expect(page.locator("#verification-siret")).to_contain_text("Connu")
    page.get_by_text("SIRET vérifié : conforme").click()
    page.get_by_label("Commentaire").fill(comment)
    page.get_by_role("button", name="Enregistrer le verdict").click()
    expect(page.get_by_text("Verdicts enregistrés")).to_be_visible()


AGENTS_DAY_REPLY = (
    "Bonjour {demandeur},\n\nPour réattribuer le compte extranet de {denomination}, "
    "déposez le Kbis et le justificatif de départ depuis votre espace de suivi : "
    "{lien_de_suivi}\n\nVotre demande {reference} est résolue de notre côté."
)


class Steps:
    """The agent's gestures (clicks, a key, a choice in a list) and the full page loads of
    one browser tab, counted from ``start()``."""

    def __init__(self, page):
        self.page, self.gestures, self.loads, self.counting = page, [], [], False
        page.on("load", lambda p: self.loads.append(p.url) if self.counting else None)

    def start(self) -> None:
        self.counting = True

    def do(self, what: str, action) -> None:
        self.gestures.append(what)
        action()


def test_the_agents_day_search_open_insert_reply_resolve_next(
    live_server, checked_context, output_dir, agent, supervisor, typed_secrets
):
    """Alice signs in with her code, looks at her queue, is asked about a SIRET: she types
    it in the search box, opens the ticket, inserts the canned reply, "Répondre et
    résoudre" with "then the next ticket", and is on the next ticket. From the search box
    to the next ticket: three full page loads (results, ticket, next ticket). Then the
    supervisor signs in and lands on the dashboard. Screenshots at 1366×900 in
    test-results/agents-day/ (queue page, search results, ticket, next ticket, dashboard);
    axe-core checks each page."""
    typed_secrets.add(AGENT_PASSWORD)
    queue = Queue.objects.get(slug="habilitation")
    siret = VALID_SIRETS[1]
    RegistryEstablishmentFactory(siret=siret, denomination="BOULANGERIE DU MARCHE")
    now = timezone.now()
    ticket = TicketFactory(
        siret=siret,
        denomination="Boulangerie du Marché",
        requester_name="Claire Dupont",
        email="claire.dupont@boulangerie.exemple.fr",
        assignee=agent,
        status=Status.EN_COURS,
        created_at=now - timedelta(hours=5),
    )
    following = TicketFactory(siret=VALID_SIRETS[2], created_at=now - timedelta(hours=3))
    later = TicketFactory(siret=VALID_SIRETS[3], created_at=now - timedelta(hours=1))
    canned = CannedReply.objects.create(
        queue=queue,
        motif=Motif.HABILITATION_EXTRANET,
        title="Réattribution : pièces à fournir",
        body=AGENTS_DAY_REPLY,
        created_at=now,
        updated_at=now,
    )
    page = checked_context("desktop-1366")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    look = Inspector(page, output_dir / "agents-day", "desktop-1366")

    # The password alone opens nothing: the code is asked before any page.
    backoffice_sign_in(
        page,
        live_server.url,
        email=agent.email,
        password=AGENT_PASSWORD,
        device=TOTPDeviceFactory(user=agent),
    )
    page.get_by_role("navigation").get_by_role("link", name="Habilitation à l'extranet").click()
    expect(page.get_by_role("heading", name="Habilitation à l'extranet")).to_be_visible()
    for reference in (ticket.reference, following.reference, later.reference):
        expect(row(page, reference)).to_have_count(1)
    look.look("file-habilitation")

    steps = Steps(page)
    steps.start()
    # 1: the SIRET typed in the search box of the header, Enter: the results.
    box = page.get_by_role("search", name="Recherche de tickets").get_by_role("searchbox")
    box.fill(siret)
    steps.do("Entrée dans la recherche", lambda: box.press("Enter"))
    results = page.get_by_test_id("search-results")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("Boulangerie du Marché")
    expect(page.get_by_text("Recherche par SIRET,", exact=False)).to_be_visible()
    look.look("recherche-siret")

    # 2: the ticket, its reply box on the first screen.
    steps.do("la référence", lambda: results.get_by_role("link", name=ticket.reference).click())
    expect(page.get_by_role("heading", name=ticket.reference)).to_be_visible()
    reply = page.get_by_label("Répondre au demandeur")
    assert reply.bounding_box()["y"] + 100 < VIEWPORTS["desktop-1366"]["height"]
    look.look("ticket")

    # The canned reply, inserted in place and filled; then one sentence of her own.
    label = f"{canned.title} (Habilitation à l'extranet)"
    steps.do(
        "la réponse type",
        lambda: page.get_by_label("Réponse type", exact=True).select_option(label=label),
    )
    steps.do("Insérer", lambda: page.get_by_role("button", name="Insérer").click())
    expect(reply).to_have_value(re.compile(r"^Bonjour Claire Dupont,"))
    assert "compte extranet de Boulangerie du Marché" in reply.input_value()
    reply.press("End")
    reply.type("\n\nCordialement.")
    steps.do("prendre le suivant", lambda: page.locator("label[for=reply-take-next]").click())

    # 3: "Répondre et résoudre": the next ticket of the queue, hers.
    steps.do(
        "Répondre et résoudre",
        lambda: page.get_by_role("button", name="Répondre et résoudre").click(),
    )
    expect(page.get_by_role("heading", name=following.reference)).to_be_visible()
    expect(
        page.get_by_text(f"Ticket suivant : {following.reference} vous est assigné.")
    ).to_be_visible()
    look.look("ticket-suivant")

    assert len(steps.loads) == 3, steps.loads
    assert len(steps.gestures) == 6, steps.gestures
    (look.folder / "steps.json").write_text(
        json.dumps({"page_loads": steps.loads, "gestures": steps.gestures}, indent=2)
    )
    ticket.refresh_from_db()
    following.refresh_from_db()
    assert ticket.status == Status.RESOLU and ticket.assignee == agent
    assert following.assignee == agent and following.status == Status.EN_COURS
    assert Ticket.objects.get(pk=later.pk).assignee is None
    [sent] = [m for m in mail.outbox if m.to == [ticket.email]]
    assert sent.body.startswith("Bonjour Claire Dupont,")
    assert "{lien_de_suivi}" not in sent.body and "/suivi/" in sent.body
    assert errors == []

    # The supervisor signs in and lands on the dashboard, its headline figures first.
    boss = checked_context("desktop-1366")
    backoffice_sign_in(
        boss,
        live_server.url,
        email=supervisor.email,
        password=AGENT_PASSWORD,
        device=TOTPDeviceFactory(user=supervisor),
    )
    expect(boss).to_have_url(re.compile(r"/backoffice/tableau-de-bord/"))
    expect(boss.get_by_role("heading", level=1)).to_contain_text("Tableau de bord")
    boss_look = Inspector(boss, look.folder, "desktop-1366")
    boss_look.results = look.results  # one report and one numbering for the journey
    boss_look.look("tableau-de-bord")
    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())


def test_case_21_from_the_request_to_the_new_holders_first_login(
    live_server, new_context, page, agent, supervisor, settings, typed_secrets, output_dir
):
    typed_secrets.update({AGENT_PASSWORD, NEW_HOLDER_PASSWORD, EXTRANET_TEST_PASSWORD})
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 1 / 3600  # one second
    siret = VALID_SIRETS[3]
    RegistryEstablishmentFactory(siret=siret, denomination="FOURNIL DES HALLES")
    account = ExtranetAccountFactory(
        establishment=EstablishmentFactory(
            siret=siret, denomination="Fournil des Halles", email="contact@fournil.exemple.fr"
        ),
        holder_email="ancien.gerant@fournil.exemple.fr",
        with_password=True,
    )
    agent_device = TOTPDeviceFactory(user=agent)
    supervisor_device = TOTPDeviceFactory(user=supervisor)

    # The previous holder has a session open somewhere.
    old_page = other_browser(new_context)
    extranet_sign_in(
        old_page, live_server.url, identifiant=account.identifiant, password=EXTRANET_TEST_PASSWORD
    )
    expect(old_page.get_by_role("heading", name="Mon espace", exact=True)).to_be_visible()

    # The new user files the request (motif Habilitation à l'extranet).
    page.goto(f"{live_server.url}/assistance/?siret={siret}&motif=habilitation_extranet")
    expect(page.get_by_label("N° de Siret")).to_have_value(siret)
    page.get_by_label("Dénomination établissement").fill("Fournil des Halles")
    page.get_by_label("Nom et prénom").fill("Marie Payet")
    page.get_by_label("N° de téléphone").fill("0692 11 22 33")
    # A personal webmail address, while the establishment writes from its own domain: a
    # risk signal the approver must acknowledge in writing.
    page.get_by_label("Adresse électronique").fill("marie.payet.fournil@gmail.com")
    page.get_by_label("Description de la demande").fill(
        "L'ancien gérant est parti, plus personne ne lit l'adresse déclarée."
    )
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", name="Votre demande a bien été reçue")).to_be_visible()
    # The page shows no reference (the repeat rule must not be an oracle): the e-mail does.
    ticket = Ticket.objects.get(email="marie.payet.fournil@gmail.com")
    # The requester sends the Kbis (the requester's side is covered by its own journey).
    kbis = attach(ticket, name="kbis-fournil.pdf")

    # The agent verifies the SIRET and prepares the reassignment from the account panel.
    agent_page = other_browser(new_context)
    backoffice_sign_in(
        agent_page, live_server.url, email=agent.email, password=AGENT_PASSWORD, device=agent_device
    )
    agent_page.goto(f"{live_server.url}/backoffice/tickets/{ticket.pk}/")
    record_passed_verdict(agent_page, siret, "Kbis et appel au standard : conforme.")
    panel = agent_page.locator("#extranet-panel")
    expect(panel).to_contain_text(f"Compte {account.identifiant}")
    panel.get_by_role("link", name="Préparer une réattribution").click()
    expect(agent_page.get_by_text("Vérification du SIRET : conforme")).to_be_visible()
    # Inside the back-office: its menu and a way back to the ticket.
    expect(agent_page.locator("#backoffice-nav")).to_be_visible()
    expect(agent_page.get_by_role("link", name=ticket.reference).first).to_be_visible()
    # Prefilled with the requester: checked, not retyped.
    expect(agent_page.get_by_label("Courriel du nouveau titulaire")).to_have_value(
        "marie.payet.fournil@gmail.com"
    )
    agent_page.get_by_label("Éléments vérifiés").fill(
        "Kbis du 12/11, appel au standard de l'établissement, pièce d'identité."
    )
    agent_page.locator("label", has_text=kbis.name).click()  # DSFR draws the box on the label
    agent_page.get_by_role("button", name="Préparer la réattribution").click()
    expect(agent_page.get_by_role("heading", name="Réattribution n°")).to_be_visible()
    expect(agent_page.get_by_test_id("reassignment-state")).to_have_text("Préparée")
    expect(agent_page.get_by_text("un autre superviseur doit l'approuver")).to_be_visible()
    expect(agent_page.get_by_role("button", name="Approuver la réattribution")).to_have_count(0)
    reassignment = AccountReassignment.objects.get(ticket=ticket)

    # A different person, a supervisor, approves in another browser.
    supervisor_page = other_browser(new_context)
    backoffice_sign_in(
        supervisor_page,
        live_server.url,
        email=supervisor.email,
        password=AGENT_PASSWORD,
        device=supervisor_device,
    )
    # From the navigation's count to the pending list, then the file.
    supervisor_page.goto(f"{live_server.url}/backoffice/")
    expect(supervisor_page.get_by_test_id("nav-reassignments-awaiting")).to_have_text("1")
    supervisor_page.locator("#backoffice-nav").get_by_role("link", name="Réattributions").click()
    row = supervisor_page.get_by_test_id("pending-list").get_by_role("row").nth(1)
    expect(row).to_contain_text(siret)
    expect(row).to_contain_text("Fournil des Halles")
    expect(row).to_contain_text("Messagerie gratuite")
    row.get_by_role("link", name=f"Réattribution n° {reassignment.pk}").click()
    # The whole file: the SIRET checks and registry, the documents and which the preparer
    # checked, the risk signals.
    expect(supervisor_page.get_by_test_id("siret-checks")).to_contain_text("Actif")
    expect(supervisor_page.get_by_test_id("siret-checks")).to_contain_text("FOURNIL DES HALLES")
    expect(supervisor_page.get_by_test_id("name-similarity")).to_contain_text("identique")
    expect(supervisor_page.get_by_test_id("documents")).to_contain_text(kbis.name)
    expect(supervisor_page.get_by_test_id("documents")).to_contain_text("vérifié par")
    expect(supervisor_page.get_by_test_id("signals")).to_contain_text("Messagerie gratuite")
    shots = output_dir / "case-2-1"
    shots.mkdir(parents=True, exist_ok=True)
    for name, size in VIEWPORTS.items():
        supervisor_page.set_viewport_size(size)
        supervisor_page.screenshot(path=str(shots / f"approbation-{name}.png"), full_page=True)
    supervisor_page.set_viewport_size(VIEWPORTS["desktop-1366"])
    approve_form = supervisor_page.get_by_test_id("approve-form")
    approve_form.get_by_label("Prise en compte : Messagerie gratuite").fill(
        "Gérante jointe au standard : adresse personnelle le temps de la reprise."
    )
    approve_form.get_by_role("button", name="Approuver la réattribution").click()
    expect(supervisor_page.get_by_test_id("reassignment-state")).to_have_text("Approuvée")
    expect(supervisor_page.get_by_text("Réattribution approuvée")).to_be_visible()
    notices = [
        m
        for m in mail.outbox
        if "contact@fournil.exemple.fr" in m.to or "ancien.gerant@fournil.exemple.fr" in m.to
    ]
    assert len(notices) == 2

    # The waiting period passes; beat's sweep applies the change.
    deadline = time.monotonic() + 10
    while not reassignments_apply_due():
        assert time.monotonic() < deadline, "the reassignment was never applied"
        time.sleep(0.2)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPLIED
    [activation] = [
        m
        for m in mail.outbox
        if m.to == ["marie.payet.fournil@gmail.com"] and "/compte/activation/" in m.body
    ]
    assert mail_identifiant(activation) == account.identifiant

    # The new holder chooses a password and logs in with the identifiant.
    page.goto(live_server.url + mail_link_path(activation))
    expect(page.get_by_role("heading", name="Activer mon compte")).to_be_visible()
    page.get_by_label("Nouveau mot de passe").fill(NEW_HOLDER_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_HOLDER_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    extranet_sign_in(
        page, live_server.url, identifiant=account.identifiant, password=NEW_HOLDER_PASSWORD
    )
    expect(page.get_by_role("heading", name="Mon espace", exact=True)).to_be_visible()
    expect(page.get_by_text("marie.payet.fournil@gmail.com")).to_be_visible()

    # The previous holder: the open session is rejected, the old password refused.
    old_page.goto(f"{live_server.url}/espace/")
    expect(old_page.get_by_role("heading", name="Mon espace", exact=True)).to_have_count(0)
    extranet_sign_in(
        old_page, live_server.url, identifiant=account.identifiant, password=EXTRANET_TEST_PASSWORD
    )
    expect(old_page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect.")

    # Each step is on the ticket's timeline and the reassignment's page.
    agent_page.goto(f"{live_server.url}/backoffice/tickets/{ticket.pk}/")
    expect(timeline(agent_page)).to_contain_text("SIRET vérifié")
    expect(timeline(agent_page)).to_contain_text("Réattribution du compte")
    expect(timeline(agent_page)).to_contain_text("→ Résolu")
    agent_page.goto(f"{live_server.url}/backoffice/reattributions/{reassignment.pk}/")
    for step in ("Préparée", "Approuvée", "Appliquée"):
        expect(agent_page.get_by_text(f"— {step} —")).to_be_visible()
