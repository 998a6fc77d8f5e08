"""Every public page, looked at and checked for accessibility, at 1366×900 and 390×844.

The journey below goes through each page a company can reach (and its error states) with a
live incident notice, takes a full-page screenshot of each into
``test-results/pages/<viewport>/`` (for a person to look at), and runs axe-core (vendored,
``tests/e2e/vendor/``) on it: a critical or serious violation fails the test. The browser
context bypasses the site's CSP only so that axe can be injected; the other journeys keep
the CSP on.

A second journey creates a space (case 1) with the keyboard alone, through the security
code's "Nouveau code" button and its audio version.
"""

from __future__ import annotations

import re
import wave
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import captcha_answer, mail_identifiant, mail_link_path
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import VALID_SIRETS, EstablishmentFactory, ExtranetAccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# In the SIRENE sample (Bordeaux, 33000), unknown to the extranet: case 1 with a town list.
UNKNOWN_SIRET = "90830166600016"
PASSWORD = "Atelier-Copeaux-Vernis-2026"


@pytest.fixture
def registry_with_towns(transactional_db):
    """The SIRENE sample imported, with its postal code → towns table."""
    from django.conf import settings

    from establishments.services import registry_import, sirene_file_open
    from establishments.towns import postal_code_towns_rebuild

    sample = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"
    with sirene_file_open(sample) as stream:
        registry_import(stream=stream)
    postal_code_towns_rebuild()


@pytest.fixture
def live_notice(transactional_db, supervisor):
    from backoffice.notices.services import notice_create, notice_publish_now

    notice = notice_create(
        actor=supervisor,
        title="Information",
        text=(
            "Un incident technique s'est produit sur l'extranet activité partielle hier. "
            "Les opérations de correction sont en cours."
        ),
        level="info",
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    return notice_publish_now(notice=notice, actor=supervisor)


def approved_reassignment_objection_path(agent, supervisor) -> str:
    """An approved case-2.1 reassignment: the path of its objection link (e-mailed)."""
    from accounts.extranet.reassignment import reassignment_prepare
    from tests.accounts.helpers import approve, record_siret_verification
    from tests.factories import TicketFactory

    establishment = EstablishmentFactory(siret=VALID_SIRETS[1], email="contact@martin.fr")
    ExtranetAccountFactory(
        establishment=establishment, with_password=True, holder_email="ancien@martin.fr"
    )
    ticket = TicketFactory(siret=establishment.siret, establishment=establishment)
    record_siret_verification(ticket, actor=agent)
    reassignment = reassignment_prepare(
        ticket=ticket,
        actor=agent,
        new_holder_last_name="Martin",
        new_holder_first_name="Léa",
        new_holder_email="lea.martin@exemple.fr",
        new_holder_phone="+33102030405",
        evidence_notes="Kbis vérifié ; appel au standard.",
    ).reassignment
    before = len(mail.outbox)
    approve(reassignment, supervisor)
    return mail_link_path(mail.outbox[before])


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_public_page_is_looked_at_and_passes_axe(
    viewport,
    live_server,
    checked_context,
    output_dir,
    registry_with_towns,
    live_notice,
    agent,
    supervisor,
    settings,
    typed_secrets,
):
    typed_secrets.add(PASSWORD)
    page = checked_context(viewport)
    look = Inspector(page, output_dir / "pages" / viewport, viewport)
    url = live_server.url

    # S1: the home page, then its two login mistakes.
    page.goto(f"{url}/")
    expect(page.get_by_test_id("incident-notice")).to_be_visible()
    look.look("accueil")
    page.get_by_label("Identifiant").fill("APINCONNU1")
    page.locator("#id_password").fill("pas-le-bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Identifiant ou mot de passe incorrect.")).to_have_count(1)
    expect(page.get_by_label("Recopier le code ci-contre")).to_have_count(0)
    look.look("accueil-connexion-refusee")
    # Failures on one identifiant (from any address) bring the security code.
    settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = 2
    page.get_by_label("Identifiant").fill("APINCONNU1")
    page.locator("#id_password").fill("toujours-pas")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_label("Recopier le code ci-contre")).to_be_visible()
    look.look("accueil-code-de-securite")
    page.get_by_label("Identifiant").fill("jeanne@exemple.fr")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Ne pas saisir d'adresse de messagerie :")).to_be_visible()
    look.look("accueil-adresse-refusee")

    page.goto(f"{url}/expert-comptable/")
    look.look("expert-comptable")

    # S2, its errors, then S3 (case 1) with its errors and the towns of the postal code.
    page.goto(f"{url}/creer-mon-espace/")
    look.look("creer-mon-espace")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Veuillez indiquer le numéro de SIRET.")).to_be_visible()
    look.look("creer-mon-espace-erreurs")
    page.get_by_label("N° de Siret").fill(UNKNOWN_SIRET)
    page.locator("label[for=id_cgu]").click()
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text(f"N° de Siret : {UNKNOWN_SIRET}")).to_be_visible()
    look.look("cas1-formulaire")
    page.get_by_role("button", name="Créer mon espace").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    look.look("cas1-formulaire-erreurs")
    page.get_by_label("Dénomination de l'établissement").fill("Atelier Bois & Design")
    page.get_by_label("Numéro de voie").fill("8")
    page.get_by_label("Libellé de la voie").fill("chemin des Vignes")
    page.get_by_label("Code postal").fill("33000")
    expect(page.get_by_label("Ville")).to_have_value("BORDEAUX")
    page.get_by_label("Téléphone fixe").fill("05 56 00 11 22")
    page.locator("#id_email").fill("contact@atelier.fr")
    page.get_by_label("Confirmer courriel établissement").fill("contact@atelier.fr")
    page.get_by_label("Nom *", exact=True).fill("Lefèvre")
    page.get_by_label("Prénom").fill("Paul")
    page.get_by_label("Téléphone *", exact=True).fill("06 12 34 56 78")
    page.locator("#id_holder_email").fill("paul.lefevre@atelier.fr")
    page.get_by_label("Confirmer courriel *", exact=True).fill("paul.lefevre@atelier.fr")
    page.get_by_label("Question secrète").select_option(index=1)
    page.get_by_label("Réponse").fill("Copeau")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    look.look("cas1-formulaire-rempli")
    page.get_by_role("button", name="Créer mon espace").click()
    expect(page.get_by_role("heading", name="Votre espace est créé")).to_be_visible()
    look.look("cas1-espace-cree")

    # The activation link: a too-short password first, then the real one.
    activation = mail_link_path(mail.outbox[-1])
    identifiant = mail_identifiant(mail.outbox[-1])
    page.goto(url + activation)
    look.look("activation")
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_label("Confirmation du mot de passe").fill("court")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    look.look("activation-erreurs")
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_text("Votre mot de passe est enregistré")).to_be_visible()
    look.look("accueil-apres-activation")
    page.goto(url + activation)
    expect(page.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_visible()
    look.look("lien-plus-valable")

    page.goto(f"{url}/")
    page.get_by_label("Identifiant").fill(identifiant)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mon espace", exact=True)).to_be_visible()
    look.look("mon-espace")
    page.get_by_role("button", name="Se déconnecter").click()

    # S4 (case 2): the establishment has an account.
    page.goto(f"{url}/creer-mon-espace/")
    page.get_by_label("N° de Siret").fill(UNKNOWN_SIRET)
    page.locator("label[for=id_cgu]").click()
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", name="Votre établissement dispose déjà")).to_be_visible()
    look.look("cas2-compte-existant")

    # S6: the two "J'ai oublié" forms, their errors, the neutral answer, the reset page.
    page.goto(f"{url}/compte/identifiant-oublie/")
    look.look("identifiant-oublie")
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    look.look("identifiant-oublie-erreurs")
    page.goto(f"{url}/compte/mot-de-passe-oublie/")
    look.look("mot-de-passe-oublie")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("heading", name="Demande prise en compte")).to_be_visible()
    look.look("demande-prise-en-compte")
    page.goto(url + mail_link_path(mail.outbox[-1]))
    expect(page.get_by_role("heading", name="Choisir un nouveau mot de passe")).to_be_visible()
    look.look("nouveau-mot-de-passe")

    # S8: the assistance form, its errors, the acknowledgement.
    page.goto(f"{url}/assistance/?motif=habilitation_extranet&siret={UNKNOWN_SIRET}")
    look.look("assistance")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    look.look("assistance-erreurs")
    page.get_by_label("Dénomination établissement").fill("Atelier Bois & Design")
    page.get_by_label("Nom et prénom").fill("Paul Lefèvre")
    page.get_by_label("N° de téléphone").fill("01 02 03 04 05")
    page.get_by_label("Adresse électronique").fill("paul.lefevre@atelier.fr")
    page.get_by_label("Description de la demande").fill("Je n'ai rien reçu.")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", name="Votre demande a bien été reçue")).to_be_visible()
    look.look("assistance-envoyee")

    # The footer's pages and the CGU.
    for name, path in [
        ("cgu", "/cgu/"),
        ("accessibilite", "/accessibilite/"),
        ("mentions-legales", "/mentions-legales/"),
        ("donnees-personnelles", "/donnees-personnelles/"),
        ("cookies", "/cookies/"),
    ]:
        page.goto(url + path)
        look.look(name)
    footer = page.get_by_role("contentinfo")
    for label in (
        "Accessibilité : non conforme",
        "Mentions légales",
        "Données personnelles",
        "Gestion des cookies",
        "Conditions générales d'utilisation",
    ):
        expect(footer.get_by_role("link", name=label)).to_be_visible()

    # The objection pages of a reassignment (case 2.1), and a stale objection link.
    objection = approved_reassignment_objection_path(agent, supervisor)
    page.goto(url + objection)
    expect(page.get_by_role("heading", name="S'opposer au changement de titulaire")).to_be_visible()
    look.look("opposition")
    page.get_by_role("button", name="Je m'oppose à ce changement").click()
    look.look("opposition-enregistree")
    page.goto(url + objection)
    look.look("opposition-lien-plus-valable")

    # Error pages: 404, a refused form (CSRF cookie gone), too many requests (429).
    response = page.goto(f"{url}/cette-page-n-existe-pas/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page non trouvée")).to_be_visible()
    look.look("erreur-404")
    page.goto(f"{url}/compte/identifiant-oublie/")
    page.context.clear_cookies()
    page.get_by_label("N° de Siret").fill(UNKNOWN_SIRET)
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_role("heading", name="Formulaire expiré")).to_be_visible()
    look.look("erreur-formulaire-expire")
    settings.PUBLIC_FORM_POSTS_PER_IP_PER_HOUR = 1
    for _ in range(2):
        page.goto(f"{url}/compte/identifiant-oublie/")
        # Wait for the POST's page: a click returns once its navigation has begun, and the
        # next goto could race it (the 429 page landing after the form was loaded again).
        with page.expect_navigation():
            page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_role("heading", name="Trop de demandes")).to_be_visible()
    look.look("erreur-429")

    look.save_report()
    assert len(look.results) >= 35
    assert look.blocking() == [], "\n".join(look.blocking())


def test_a_keyboard_only_user_creates_a_space_through_the_accessible_security_code(
    live_server, checked_context, registry_with_towns, typed_secrets
):
    """Case 1 without a mouse: Tab, typing, Space and Enter only; the security code's
    "Nouveau code" button is pressed from the keyboard and its audio is a real WAV."""
    page = checked_context("desktop-1366")
    url = live_server.url

    def focused() -> dict:
        return page.evaluate(
            """() => {
                const el = document.activeElement;
                return {tag: el.tagName, id: el.id, text: (el.innerText || el.value || "").trim()};
            }"""
        )

    def tab_to(check, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if check(focused()):
                return
        raise AssertionError(f"not reached with Tab; last focus: {focused()}")

    def tab_to_field(field_id: str) -> None:
        tab_to(lambda f: f["id"] == field_id)

    page.goto(f"{url}/")
    tab_to(lambda f: f["tag"] == "A" and f["text"] == "CRÉER MON ESPACE")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Créer mon espace")).to_be_visible()

    tab_to_field("id_siret")
    page.keyboard.type(UNKNOWN_SIRET)
    # "Nouveau code", from the keyboard: another code, announced, the audio follows it.
    old_key = page.input_value("input[name=captcha_0]")
    tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Nouveau code")
    page.keyboard.press("Enter")
    expect(page.locator("[data-security-code-status]")).to_contain_text("Un nouveau code")
    new_key = page.input_value("input[name=captcha_0]")
    assert new_key != old_key
    audio_src = page.locator("[data-security-code-audio]").get_attribute("src")
    assert new_key in audio_src
    audio = page.request.get(url + audio_src)
    assert audio.ok and audio.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(audio.body())) as wav:
        assert wav.getnframes() / wav.getframerate() > 5  # intro + the code said twice
    tab_to_field("id_captcha_1")
    page.keyboard.type(captcha_answer(page))
    tab_to_field("id_cgu")
    page.keyboard.press("Space")
    tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Valider")
    page.keyboard.press("Enter")

    expect(page.get_by_text(f"N° de Siret : {UNKNOWN_SIRET}")).to_be_visible()
    values = [
        ("id_denomination", "Atelier Bois & Design"),
        ("id_street_number", "8"),
        ("id_street_name", "chemin des Vignes"),
        ("id_postal_code", "33000"),
    ]
    for field_id, value in values:
        tab_to_field(field_id)
        page.keyboard.type(value)
    # The town list of the postal code, reached from the keyboard (one town: chosen).
    expect(page.locator("#id_city-towns")).to_be_visible()
    tab_to_field("id_city-towns")
    expect(page.locator("#id_city")).to_have_value("BORDEAUX")
    values = [
        ("id_phone", "05 56 00 11 22"),
        ("id_email", "contact@atelier.fr"),
        ("id_email_confirmation", "contact@atelier.fr"),
        ("id_holder_last_name", "Lefèvre"),
        ("id_holder_first_name", "Paul"),
        ("id_holder_phone", "06 12 34 56 78"),
        ("id_holder_email", "paul.lefevre@atelier.fr"),
        ("id_holder_email_confirmation", "paul.lefevre@atelier.fr"),
    ]
    for field_id, value in values:
        tab_to_field(field_id)
        page.keyboard.type(value)
    tab_to_field("id_secret_question")
    page.keyboard.press("ArrowDown")
    tab_to_field("id_secret_answer")
    page.keyboard.type("Copeau")
    tab_to_field("id_captcha_1")
    page.keyboard.type(captcha_answer(page))
    tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Créer mon espace")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Votre espace est créé")).to_be_visible()
    assert [m.to for m in mail.outbox] == [["paul.lefevre@atelier.fr"]]
    assert re.match(r"^AP\w{8}$", mail_identifiant(mail.outbox[0]))
