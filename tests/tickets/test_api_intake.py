"""POST /api/v1/assistance-requests: the contract with the extranet team."""

from __future__ import annotations

import json

import pytest

from accounts.staff.services import api_key_create, api_key_revoke
from tickets.models import Source, Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/assistance-requests"


@pytest.fixture
def api_key():
    return api_key_create(name="extranet-test")


@pytest.fixture
def payload(valid_request_data):
    return dict(valid_request_data)


def post(client, body, key=None, raw=None):
    headers = {"HTTP_X_API_KEY": key} if key is not None else {}
    return client.post(
        URL,
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_it_creates_a_ticket_and_answers_201(client, api_key, payload):
    response = post(client, payload, key=api_key[1])
    assert response.status_code == 201
    body = response.json()
    ticket = Ticket.objects.get()
    assert body == {
        "reference": ticket.reference,
        "queue": "habilitation",
        "status": "nouveau",
        "created_at": body["created_at"],
    }
    assert ticket.source == Source.API
    assert "attached_to_existing" not in body


def test_a_repeat_answers_200_with_the_existing_reference(client, api_key, payload):
    first = post(client, payload, key=api_key[1]).json()
    response = post(client, payload, key=api_key[1])
    assert response.status_code == 200
    assert response.json() == {**first, "attached_to_existing": True}


def test_without_key_it_answers_401(client, payload):
    response = post(client, payload)
    assert response.status_code == 401
    assert response.json() == {"detail": "Clé d'API absente ou invalide."}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("key", ["", "nope", "demo0000.wrong", "abcd.efgh"])
def test_with_a_wrong_key_it_answers_401(client, api_key, payload, key):
    assert post(client, payload, key=key).status_code == 401
    assert not Ticket.objects.exists()


def test_a_revoked_key_answers_401(client, api_key, payload):
    api_key_revoke(key=api_key[0])
    assert post(client, payload, key=api_key[1]).status_code == 401


def test_a_key_with_the_right_prefix_but_wrong_secret_answers_401(client, api_key, payload):
    prefix = api_key[1].split(".")[0]
    assert post(client, payload, key=f"{prefix}.not-the-secret").status_code == 401


def test_keys_are_stored_hashed(api_key):
    key, raw = api_key
    assert raw not in key.key_hash and key.key_hash == key.digest(raw)


def test_bad_values_answer_422_with_french_messages_per_field(client, api_key, payload):
    response = post(
        client,
        {**payload, "siret": "00000000000000", "phone": "123", "email": "claire"},
        key=api_key[1],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Données invalides."
    assert body["errors"] == {
        "siret": ["Ce numéro de SIRET n'existe pas."],
        "phone": ["Le numéro de téléphone est invalide (exemple : 01 23 45 67 89)."],
        "email": ["Saisissez une adresse électronique valide (exemple : prenom.nom@exemple.fr)."],
    }
    assert not Ticket.objects.exists()


def test_missing_fields_and_unknown_motif_answer_422(client, api_key, payload):
    del payload["description"]
    response = post(client, {**payload, "motif": "piratage", "siret": 732}, key=api_key[1])
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["description"] == ["Ce champ est obligatoire."]
    assert errors["motif"] == ["Valeur non autorisée pour ce champ."]
    assert errors["siret"] == ["Ce champ doit être une chaîne de caractères."]


def test_invalid_json_answers_422_or_400_never_500(client, api_key):
    response = post(client, None, key=api_key[1], raw="{not json")
    assert response.status_code in (400, 422)


def test_an_empty_required_string_answers_422(client, api_key, payload):
    response = post(client, {**payload, "denomination": ""}, key=api_key[1])
    assert response.status_code == 422
    assert response.json()["errors"] == {"denomination": ["Ce champ est obligatoire."]}


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    operation = paths["/api/v1/assistance-requests"]["post"]
    assert set(operation["responses"]) >= {"200", "201", "401", "422"}
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content
