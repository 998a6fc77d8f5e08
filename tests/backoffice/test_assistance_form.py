"""The public assistance form (S8), as a requester uses it."""

from __future__ import annotations

import pytest
from captcha.models import CaptchaStore
from django.core import mail
from pytest_django.asserts import assertContains, assertNotContains

from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/assistance/"
MOTIF_LABELS = [
    "Habilitation à l&#x27;extranet",
    "Fiche Etablissement",
    "Décision d&#x27;Autorisation",
    "Demande d&#x27;indemnisation",
    "Certificat de signature",
    "Autres",
]


def with_captcha(client, data: dict, *, right: bool = True) -> dict:
    client.get(URL)  # a real visitor loads the form, which creates the challenge
    store = CaptchaStore.objects.order_by("-pk").first()
    return {
        **data,
        "captcha_0": store.hashkey,
        "captcha_1": store.response if right else "faux",
    }


def test_the_form_shows_the_s8_fields_and_exactly_six_motifs(client):
    response = client.get(URL)
    assert response.status_code == 200
    for label in (
        "N° de Siret",
        "Dénomination établissement",
        "Nom et prénom",
        "N° de téléphone",
        "Adresse électronique",
        "Motif de la demande",
        "Description de la demande",
        "Recopier le code ci-contre",
    ):
        assertContains(response, label)
    html = response.content.decode()
    options = html.count("<option")
    assert options == 7  # the placeholder and the six motifs
    for label in MOTIF_LABELS:
        assert label in html


def test_the_form_can_be_prefilled_from_create_my_space(client):
    response = client.get(URL, {"siret": "73282932000074", "motif": "habilitation_extranet"})
    assertContains(response, 'value="73282932000074"')
    assertContains(response, 'value="habilitation_extranet" selected')


def test_a_valid_submission_creates_the_ticket_and_e_mails_its_reference(
    client, valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, with_captcha(client, valid_request_data), follow=True)
    ticket = Ticket.objects.get()
    assert response.redirect_chain == [("/assistance/merci/", 302)]
    # The page shows no reference (the repeat rule must not be an oracle); the e-mail does.
    assertNotContains(response, ticket.reference)
    assert ticket.reference in mail.outbox[0].subject
    assertContains(response, "courriers indésirables")
    assert ticket.queue.slug == "habilitation"
    assert [m.to for m in mail.outbox] == [["claire.dupont@exemple.fr"]]


def test_a_wrong_captcha_is_refused_and_keeps_the_typed_values(client, valid_request_data):
    response = client.post(URL, with_captcha(client, valid_request_data, right=False))
    assert response.status_code == 200
    assertContains(response, "Le code de sécurité recopié est incorrect.")
    assertContains(response, "Boulangerie du Marché")
    assert not Ticket.objects.exists()


def test_field_errors_are_shown_in_french_and_nothing_is_stored(client, valid_request_data):
    data = {**valid_request_data, "siret": "123", "phone": "12", "email": "x", "motif": ""}
    response = client.post(URL, with_captcha(client, data))
    assert response.status_code == 200
    assertContains(response, "Le formulaire contient des erreurs")
    assertContains(response, "Le numéro de SIRET doit comporter 14 chiffres (3 saisis).")
    assertContains(response, "Le numéro de téléphone est invalide")
    assertContains(response, "Saisissez une adresse électronique valide")
    assertContains(response, "Veuillez sélectionner un motif.")
    assertContains(response, "L&#x27;ancienne gestionnaire est partie")  # typed text kept
    assert not Ticket.objects.exists()


def test_the_confirmation_page_without_a_submission_goes_back_to_the_form(client):
    response = client.get("/assistance/merci/")
    assert response.status_code == 302
    assert response["Location"] == URL


def test_the_page_carries_no_inline_script(client):
    assertNotContains(client.get(URL), "onclick=")
