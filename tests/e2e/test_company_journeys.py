"""A company's journeys on the extranet's public side (S1–S6 of DESIGN.md), in a real
browser: the home page, "Créer mon espace" (case 1 and case 2), and the two "J'ai oublié"
links. E-mails land in django.core.mail.outbox (eager Celery); links are read there."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import (
    captcha_answer,
    extranet_sign_in,
    mail_identifiant,
    mail_link_path,
)
from tests.factories import VALID_SIRETS, EstablishmentFactory, ExtranetAccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Boulangerie-Fournil-2026!"
RESET_PASSWORD = "Croissant-Beurre-Matin-77"


def accept_cgu(page) -> None:
    # The DSFR label covers its checkbox: a user clicks the label.
    page.locator("label[for=id_cgu]").click()
    expect(page.get_by_label("J'accepte les conditions générales")).to_be_checked()


def choose_password(page, password: str) -> None:
    page.get_by_label("Nouveau mot de passe").fill(password)
    page.get_by_label("Confirmation du mot de passe").fill(password)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()


def test_s1_home_page_shows_both_entries_and_refuses_an_email_as_identifiant(
    live_server, page, console_errors
):
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="MA PREMIÈRE CONNEXION")).to_be_visible()
    expect(page.get_by_role("link", name="CRÉER MON ESPACE")).to_be_visible()
    expect(page.get_by_label("Identifiant")).to_be_visible()
    expect(page.get_by_label("Mot de passe")).to_be_visible()
    expect(page.get_by_role("link", name="J'ai oublié mon identifiant")).to_be_visible()
    expect(page.get_by_role("link", name="J'ai oublié mon mot de passe")).to_be_visible()
    expect(page.get_by_role("heading", name="Besoin d'aide ?")).to_be_visible()
    expect(page.get_by_role("link", name="Formulaire de demande d'assistance")).to_be_visible()

    page.get_by_label("Identifiant").fill("jeanne.nouvelle@exemple.fr")
    page.get_by_label("Mot de passe").fill("peu-importe")
    page.get_by_role("button", name="Se connecter").click()
    expect(
        page.get_by_text("Ne pas saisir d'adresse de messagerie : saisissez votre identifiant.")
    ).to_be_visible()
    # Still on the home page, nothing looked up, the password not sent back.
    expect(page.get_by_label("Mot de passe")).to_have_value("")
    assert console_errors == []


def test_s2_s3_case1_create_space_activate_and_log_in(
    live_server, page, console_errors, typed_secrets
):
    typed_secrets.add(NEW_PASSWORD)
    siret = VALID_SIRETS[6]
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="CRÉER MON ESPACE").click()

    # S2: SIRET, captcha, CGU.
    expect(page.get_by_role("heading", name="Créer mon espace")).to_be_visible()
    expect(page.get_by_role("link", name="Lire les conditions générales")).to_be_visible()
    page.get_by_label("N° de Siret").fill(siret)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Vous devez accepter les conditions générales")).to_be_visible()
    page.get_by_label("N° de Siret").fill(siret)
    accept_cgu(page)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Valider").click()

    # S3: the establishment and the account.
    expect(page.get_by_text(f"SIRET : {siret}")).to_be_visible()
    page.get_by_label("Dénomination de l'établissement").fill("Fournil des Halles")
    page.get_by_label("Numéro de voie").fill("12")
    page.get_by_label("Libellé de la voie").fill("rue des Halles")
    page.get_by_label("Code postal").fill("97400")
    page.get_by_label("Ville").fill("Saint-Denis")
    page.get_by_label("Téléphone fixe").fill("0262 21 00 00")
    page.locator("#id_email").fill("contact@fournil.exemple.fr")
    page.get_by_label("Confirmer courriel établissement").fill("contact@fournil.exemple.fr")
    page.get_by_label("Nom *", exact=True).fill("Payet")
    page.get_by_label("Prénom").fill("Marie")
    page.get_by_label("Téléphone *", exact=True).fill("0692 11 22 33")
    page.locator("#id_holder_email").fill("marie.payet@fournil.exemple.fr")
    page.get_by_label("Confirmer courriel *", exact=True).fill("marie.payet@fournil.exemple.fr")
    page.get_by_label("Question secrète").select_option(label="Nom de votre premier animal ?")
    page.get_by_label("Réponse").fill("Moustache")
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Créer mon espace").click()

    expect(page.get_by_role("heading", name="Votre espace est créé")).to_be_visible()
    expect(page.get_by_text("marie.payet@fournil.exemple.fr")).to_be_visible()
    assert [m.to for m in mail.outbox] == [["marie.payet@fournil.exemple.fr"]]
    email = mail.outbox[0]
    identifiant = mail_identifiant(email)

    # The activation link: choose a password, then log in with the identifiant.
    page.goto(live_server.url + mail_link_path(email))
    expect(page.get_by_role("heading", name="Activer mon compte")).to_be_visible()
    assert "/compte/activation/" in page.url and page.url.endswith("/compte/activation/")
    choose_password(page, NEW_PASSWORD)
    expect(page.get_by_text(f"Connectez-vous avec votre identifiant {identifiant}")).to_be_visible()

    extranet_sign_in(page, live_server.url, identifiant=identifiant.lower(), password=NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Mon espace", exact=True)).to_be_visible()
    expect(page.get_by_text("Fournil des Halles")).to_be_visible()
    expect(page.get_by_text(f"SIRET {siret}")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="MA PREMIÈRE CONNEXION")).to_be_visible()
    page.goto(f"{live_server.url}/espace/")
    expect(page.get_by_role("heading", name="Mon espace", exact=True)).to_have_count(0)
    assert console_errors == []


def test_s4_case2_known_siret_shows_the_ways_out_and_prefills_the_assistance_form(
    live_server, page
):
    siret = VALID_SIRETS[7]
    ExtranetAccountFactory(establishment=EstablishmentFactory(siret=siret))
    page.goto(f"{live_server.url}/creer-mon-espace/")
    page.get_by_label("N° de Siret").fill(siret)
    accept_cgu(page)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Valider").click()

    expect(
        page.get_by_role("heading", name="Votre établissement dispose déjà d'un compte")
    ).to_be_visible()
    expect(page.get_by_role("link", name="J'ai oublié mon identifiant")).to_be_visible()
    expect(page.get_by_role("link", name="J'ai oublié mon mot de passe")).to_be_visible()
    page.get_by_role("link", name="Demander l'habilitation à l'extranet").click()

    expect(page.get_by_role("heading", name="Besoin d'aide ?")).to_be_visible()
    expect(page.get_by_label("N° de Siret")).to_have_value(siret)
    expect(page.get_by_label("Motif de la demande")).to_have_value("habilitation_extranet")
    assert mail.outbox == []


def test_s6_case22_forgotten_identifiant_and_password_with_a_single_use_link(
    live_server, page, typed_secrets
):
    typed_secrets.add(RESET_PASSWORD)
    siret = VALID_SIRETS[8]
    account = ExtranetAccountFactory(
        establishment=EstablishmentFactory(siret=siret, denomination="Menuiserie Hoarau"),
        holder_email="gerant@menuiserie.exemple.fr",
        with_password=True,
    )

    # J'ai oublié mon identifiant: the identifiant arrives at the holder's address.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="J'ai oublié mon identifiant").click()
    page.get_by_label("N° de Siret de l'établissement").fill(siret)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_role("heading", name="Demande prise en compte")).to_be_visible()
    neutral = page.locator("main").inner_text()
    assert [m.to for m in mail.outbox] == [["gerant@menuiserie.exemple.fr"]]
    assert mail_identifiant(mail.outbox[0]) == account.identifiant

    # The same neutral page for a SIRET without account: nothing tells them apart.
    page.goto(f"{live_server.url}/compte/identifiant-oublie/")
    page.get_by_label("N° de Siret de l'établissement").fill(VALID_SIRETS[0])
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_role("heading", name="Demande prise en compte")).to_be_visible()
    assert page.locator("main").inner_text() == neutral
    assert len(mail.outbox) == 1

    # J'ai oublié mon mot de passe → link → new password → login.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="J'ai oublié mon mot de passe").click()
    page.get_by_label("Identifiant").fill(account.identifiant)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("heading", name="Demande prise en compte")).to_be_visible()
    assert page.locator("main").inner_text() == neutral
    assert len(mail.outbox) == 2
    link = mail_link_path(mail.outbox[1])

    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", name="Choisir un nouveau mot de passe")).to_be_visible()
    choose_password(page, RESET_PASSWORD)
    expect(page.get_by_text("Votre mot de passe est enregistré")).to_be_visible()
    extranet_sign_in(
        page, live_server.url, identifiant=account.identifiant, password=RESET_PASSWORD
    )
    expect(page.get_by_role("heading", name="Mon espace", exact=True)).to_be_visible()
    expect(page.get_by_text("Menuiserie Hoarau")).to_be_visible()

    # The link a second time: refused.
    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_visible()
