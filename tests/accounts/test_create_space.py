"""Créer mon espace (S2–S4): SIRET + captcha + CGU, then case 1 (creation) or case 2."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail

from accounts.extranet.models import ExtranetAccount, LinkPurpose, RecoveryLink
from accounts.extranet.spaces import normalize_secret_answer
from establishments.models import Establishment
from tests.accounts.helpers import assert_no_missing_variable, last_link, with_captcha
from tests.factories import EstablishmentFactory, ExtranetAccountFactory

pytestmark = pytest.mark.django_db

START = "/creer-mon-espace/"
FORM = "/creer-mon-espace/etablissement/"
SIRET = "90830166600016"

S3 = {
    "denomination": "Atelier Bois & Design",
    "street_number": "8",
    "street_extension": "",
    "street_name": "chemin des Vignes",
    "address_complement": "",
    "postal_code": "33000",
    "city": "Bordeaux",
    "phone": "05 56 00 11 22",
    "email": "contact@atelier.fr",
    "email_confirmation": "Contact@Atelier.fr",
    "fax": "",
    "holder_last_name": "Lefèvre",
    "holder_first_name": "Paul",
    "holder_phone": "06 12 34 56 78",
    "holder_email": "paul@atelier.fr",
    "holder_email_confirmation": "paul@atelier.fr",
    "secret_question": "Nom de votre premier animal ?",
    "secret_answer": "Rex",
}


def start(client, siret=SIRET, cgu=True):
    data = {"siret": siret}
    if cgu:
        data["cgu"] = "on"
    return client.post(START, with_captcha(client, START, data))


def test_the_start_page_asks_siret_captcha_and_cgu(client):
    page = client.get(START)
    html = page.content.decode()
    for text in ("N° de Siret", "code de sécurité", "conditions générales", 'href="/cgu/"'):
        assert text in html
    assert_no_missing_variable(page)
    cgu = client.get("/cgu/")
    assert "Conditions générales d'utilisation" in cgu.content.decode()
    refused = start(client, cgu=False)
    assert refused.status_code == 200
    assert "Vous devez accepter les conditions" in refused.content.decode()
    wrong = client.post(START, {"siret": SIRET, "cgu": "on", "captcha_0": "x", "captcha_1": "y"})
    assert "Le code de sécurité recopié est incorrect." in wrong.content.decode()


def test_case_1_creates_the_establishment_and_account_and_mails_identifiant_and_link(
    client, django_capture_on_commit_callbacks
):
    assert start(client)["Location"] == FORM
    page = client.get(FORM)
    assert SIRET in page.content.decode()
    assert_no_missing_variable(page)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(FORM, with_captcha(client, FORM, S3))
    assert response.status_code == 302, response.content.decode()[:3000]
    done = client.get(response["Location"])
    assert "paul@atelier.fr" in done.content.decode()
    assert "courriers indésirables" in done.content.decode()

    establishment = Establishment.objects.get(siret=SIRET)
    assert establishment.email == "contact@atelier.fr"
    account = ExtranetAccount.objects.get(establishment=establishment)
    assert "@" not in account.identifiant
    assert not account.has_usable_password()
    assert account.secret_answer_hash and "Rex" not in account.secret_answer_hash
    assert check_password(normalize_secret_answer("rex "), account.secret_answer_hash)
    [message] = mail.outbox
    assert message.to == ["paul@atelier.fr"]
    assert account.identifiant in message.body
    url, _token = last_link()
    assert "/compte/activation/" in url
    assert RecoveryLink.objects.get().purpose == LinkPurpose.ACTIVATION
    # Activation: choose a password, then log in with the identifiant.
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/compte/activation/",
            {"new_password1": "Paul-choisit-2026-ok", "new_password2": "Paul-choisit-2026-ok"},
        )
    login = client.post(
        "/", {"identifiant": account.identifiant, "password": "Paul-choisit-2026-ok"}
    )
    assert login["Location"] == "/espace/"


def test_case_1_confirmations_must_match(client):
    start(client)
    data = {**S3, "holder_email_confirmation": "autre@atelier.fr"}
    response = client.post(FORM, with_captcha(client, FORM, data))
    assert response.status_code == 200
    assert "Les deux adresses ne sont pas identiques." in response.content.decode()
    assert not Establishment.objects.filter(siret=SIRET).exists()


def test_the_s3_form_cannot_be_reached_without_the_start_step(client):
    assert client.get(FORM)["Location"] == START


def test_case_2_shows_the_ways_out(client):
    ExtranetAccountFactory(establishment=EstablishmentFactory(siret="73282932000074"))
    response = start(client, siret="732 829 320 00074")
    assert response["Location"] == "/creer-mon-espace/compte-existant/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "dispose déjà d&#x27;un compte" in html or "dispose déjà d'un compte" in html
    assert 'href="/compte/identifiant-oublie/"' in html
    assert 'href="/compte/mot-de-passe-oublie/"' in html
    assert "/assistance/?siret=73282932000074&amp;motif=habilitation_extranet" in html
    assert_no_missing_variable(page)
    prefilled = client.get("/assistance/?siret=73282932000074&motif=habilitation_extranet")
    assert 'value="habilitation_extranet" selected' in prefilled.content.decode()
