"""The S8 fields: every invalid value gets its French message (form and API share this)."""

import pytest

from tickets.forms import AssistanceRequestForm


def errors_for(data: dict) -> dict:
    form = AssistanceRequestForm(data=data)
    assert not form.is_valid()
    return form.errors


def test_it_accepts_a_valid_request_and_normalises_it(valid_request_data):
    form = AssistanceRequestForm(data=valid_request_data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["siret"] == "73282932000074"
    assert form.cleaned_data["phone"] == "+33102030405"
    assert form.cleaned_data["email"] == "claire.dupont@exemple.fr"


@pytest.mark.parametrize(
    "field, message",
    [
        ("siret", "Veuillez indiquer le numéro de SIRET."),
        ("denomination", "Ce champ est obligatoire."),
        ("requester_name", "Ce champ est obligatoire."),
        ("phone", "Ce champ est obligatoire."),
        ("email", "Ce champ est obligatoire."),
        ("motif", "Veuillez sélectionner un motif."),
        ("description", "Ce champ est obligatoire."),
    ],
)
def test_each_required_field_missing_has_its_message(valid_request_data, field, message):
    assert errors_for({**valid_request_data, field: ""})[field] == [message]


def test_a_blank_only_value_counts_as_missing(valid_request_data):
    assert "denomination" in errors_for({**valid_request_data, "denomination": "   "})


@pytest.mark.parametrize(
    "siret, fragment",
    [
        ("73282932000075", "invalide"),
        ("00000000000000", "n'existe pas"),
        ("7328293200007", "14 chiffres"),
        ("7328293200007A", "que des chiffres"),
        ("35600000000002", "invalide"),
    ],
)
def test_invalid_sirets(valid_request_data, siret, fragment):
    [message] = errors_for({**valid_request_data, "siret": siret})["siret"]
    assert fragment in message


@pytest.mark.parametrize(
    "typed, e164",
    [
        ("01 02 03 04 05", "+33102030405"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("0262 12 34 56", "+262262123456"),  # La Réunion
        ("0692 12 34 56", "+262692123456"),  # La Réunion, mobile
        ("0590 12 34 56", "+590590123456"),  # Guadeloupe
        ("0596 61 12 34", "+596596611234"),  # Martinique
        ("0594 12 34 56", "+594594123456"),  # Guyane
        ("0269 61 12 34", "+262269611234"),  # Mayotte
        ("0508 41 12 34", "+508411234"),  # Saint-Pierre-et-Miquelon
    ],
)
def test_phones_of_france_and_overseas_are_accepted_and_stored_e164(
    valid_request_data, typed, e164
):
    form = AssistanceRequestForm(data={**valid_request_data, "phone": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == e164


@pytest.mark.parametrize("typed", ["12345", "01 02 03", "téléphone", "+1 555", "0000000000"])
def test_bad_phones_are_refused(valid_request_data, typed):
    assert errors_for({**valid_request_data, "phone": typed})["phone"] == [
        "Le numéro de téléphone est invalide (exemple : 01 23 45 67 89)."
    ]


@pytest.mark.parametrize("typed", ["claire", "claire@", "@exemple.fr", "claire dupont@exemple.fr"])
def test_bad_emails_are_refused(valid_request_data, typed):
    assert errors_for({**valid_request_data, "email": typed})["email"] == [
        "Saisissez une adresse électronique valide (exemple : prenom.nom@exemple.fr)."
    ]


def test_an_unknown_motif_is_refused(valid_request_data):
    assert errors_for({**valid_request_data, "motif": "piratage"})["motif"] == [
        "Choisissez un des motifs proposés."
    ]


def test_too_long_description_is_refused(valid_request_data):
    [message] = errors_for({**valid_request_data, "description": "x" * 5001})["description"]
    assert "5000" in message.replace("\u202f", "").replace(" ", "")
