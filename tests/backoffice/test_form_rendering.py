"""One form layout for the whole site (templates/forms/): DSFR fieldset elements, input
groups, hints in the label, errors tied to their field, asterisks on required fields."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.urls import reverse

from accounts.extranet.forms import SpaceCreateForm, SpaceStartForm
from backoffice.notices.forms import NoticeForm
from tests.factories import ExtranetAccountFactory

pytestmark = pytest.mark.django_db


def elements(html: str) -> int:
    return len(re.findall(r'class="fr-fieldset__element[ "]', html))


def test_every_field_of_the_case1_form_sits_in_its_own_fieldset_element():
    form = SpaceCreateForm()
    html = str(form)
    assert elements(html) == len(form.visible_fields())
    for legend in ("Information établissement", "Compte utilisateur à créer"):
        assert f">{legend}</legend>" in html
    assert ">Contrôle de sécurité</legend>" in html
    # Short fields side by side from 768 px: the postal code and the town.
    assert "fr-fieldset__element--postal fr-fieldset__element--inline@md" in html


def test_an_error_is_tied_to_its_field_and_shown_once():
    form = SpaceStartForm(data={"siret": "12345678901234"})
    html = str(form)
    control = re.search(r'<input[^>]*name="siret"[^>]*>', html).group(0)
    assert 'aria-describedby="id_siret-messages"' in control
    assert 'aria-invalid="true"' in control
    messages = re.search(
        r'<div class="fr-messages-group" id="id_siret-messages"[^>]*>(.*?)</div>', html, re.S
    ).group(1)
    assert "Le numéro de SIRET est invalide" in messages
    assert html.count("Le numéro de SIRET est invalide") == 1
    assert "fr-input-group--error" in html
    # The summary at the top links to the fields in error.
    assert '<a href="#id_siret">N° de Siret</a>' in html
    assert '<a href="#id_cgu">' in html


def test_required_fields_have_an_asterisk_and_the_legend_says_so():
    html = str(SpaceCreateForm())
    assert "Les champs marqués d&#x27;un astérisque (*) sont obligatoires." in html or (
        "Les champs marqués d'un astérisque (*) sont obligatoires." in html
    )
    label = re.search(r'<label class="fr-label" for="id_denomination">(.*?)</label>', html, re.S)
    assert '<span class="ap-required">&nbsp;*</span>' in label.group(1)
    optional = re.search(r'<label class="fr-label" for="id_fax">(.*?)</label>', html, re.S)
    assert "*" not in optional.group(1)
    assert "Optionnel" not in html


def test_optional_fields_are_not_marked_twice():
    html = str(NoticeForm())
    assert "(facultatif)" in html
    assert "(Optionnel)" not in html


def test_choices_are_dsfr_radios_and_checkboxes():
    html = str(NoticeForm())
    assert 'class="fr-checkbox-group"' in html  # the affected motifs


def test_a_plain_django_form_gets_the_same_layout():
    class Plain(forms.Form):
        name = forms.CharField(label="Nom", help_text="Un indice")

    html = str(Plain(data={}))
    assert 'class="fr-fieldset__element"' in html
    assert 'class="fr-input-group fr-input-group--error"' in html
    assert '<span class="fr-hint-text">Un indice</span>' in html
    assert 'class="fr-input"' in html


def test_the_login_error_shows_once(client):
    ExtranetAccountFactory(with_password=True)
    response = client.post(reverse("home"), {"identifiant": "APINCONNU1", "password": "x"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("Identifiant ou mot de passe incorrect.") == 1


@pytest.mark.parametrize(
    "name", ["space_create_start", "forgot_identifiant", "forgot_password", "assistance_request"]
)
def test_public_forms_offer_cancel_beside_the_submit_button(client, name):
    page = client.get(reverse(name)).content.decode()
    assert re.search(r'<a class="fr-btn fr-btn--secondary" href="/">Annuler</a>', page)
    assert 'class="fr-fieldset__element' in page
