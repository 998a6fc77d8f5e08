"""Text that cannot be stored or sent is refused, everywhere, in French (issue 12,
point 5); invisible characters are removed (point 7); the API's errors are JSON, a 500
too; the OpenAPI schema states the real constraints.

These tests touch the database: in CI's second pass they run on PostgreSQL, which refuses
a NUL byte in text; the refusal must happen before any query, on both."""

from __future__ import annotations

import base64
import inspect
import json

import pytest
from django import forms as django_forms
from django.db import connection
from django.test import Client

from accounts.staff.services import api_key_create
from tests.factories import TicketFactory
from tickets.models import Ticket, TicketMessage
from worker.text import FORBIDDEN_MESSAGE, SafeTextFormMixin, clean_text

pytestmark = pytest.mark.django_db

NUL = "a\u0000b"
FRENCH = str(FORBIDDEN_MESSAGE)


@pytest.fixture
def api_key():
    return api_key_create(name="tests")[1]


@pytest.fixture
def agent_api(agent, verified_client):
    return verified_client(agent)


def _post(client: Client, path: str, body: dict, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _assert_refused(response, field: str) -> None:
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"] == "Données invalides."
    assert body["errors"][field] == [FRENCH]


def test_the_engine_under_test_is_the_one_ci_names():
    # Pass 1 runs this file on SQLite, pass 2 on PostgreSQL (which refuses NUL itself).
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.parametrize("path", ["replies", "notes"])
def test_a_nul_byte_in_a_reply_or_a_note_is_a_french_422(agent, agent_api, path):
    ticket = TicketFactory(queue=agent.queues.get())
    before = TicketMessage.objects.count()
    response = _post(agent_api, f"/api/v1/tickets/{ticket.pk}/{path}", {"body": NUL})
    _assert_refused(response, "body")
    assert TicketMessage.objects.count() == before


def test_a_nul_byte_in_a_verification_comment_is_a_french_422(agent, agent_api):
    ticket = TicketFactory(queue=agent.queues.get())
    response = _post(
        agent_api,
        f"/api/v1/tickets/{ticket.pk}/siret-verification",
        {"verdict": "inconclusive", "comment": NUL},
    )
    _assert_refused(response, "comment")


@pytest.mark.parametrize("field", ["denomination", "requester_name", "description"])
def test_a_nul_byte_in_an_assistance_request_is_a_french_422(
    client, api_key, valid_request_data, field
):
    response = _post(
        client,
        "/api/v1/assistance-requests",
        {**valid_request_data, field: NUL},
        HTTP_X_API_KEY=api_key,
    )
    _assert_refused(response, field)
    assert not Ticket.objects.exists()


def test_other_control_characters_are_refused_but_line_breaks_and_tabs_are_kept(agent, agent_api):
    ticket = TicketFactory(queue=agent.queues.get())
    for bad in ("\u0007", "\u001b[31m", "\u007f", "\u0085"):
        response = _post(agent_api, f"/api/v1/tickets/{ticket.pk}/notes", {"body": f"x{bad}"})
        _assert_refused(response, "body")
    response = _post(
        agent_api, f"/api/v1/tickets/{ticket.pk}/notes", {"body": "ligne 1\n\tligne 2\r\n"}
    )
    assert response.status_code == 201
    assert TicketMessage.objects.get(pk=response.json()["id"]).body == "ligne 1\n\tligne 2"


def test_a_lone_surrogate_is_refused(agent, agent_api):
    ticket = TicketFactory(queue=agent.queues.get())
    raw = b'{"body": "a\\ud800b"}'  # valid JSON text; decodes to an unencodable string
    response = agent_api.post(
        f"/api/v1/tickets/{ticket.pk}/notes", data=raw, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"]["body"]


def test_a_nul_byte_in_a_query_or_a_path_is_refused_before_any_query(agent, agent_api):
    response = agent_api.get("/api/v1/tickets", {"scope": "mine", "q": NUL})
    _assert_refused(response, "q")
    response = agent_api.get("/api/v1/tickets", {"scope": "mine", "siret": NUL})
    _assert_refused(response, "siret")
    response = agent_api.post("/api/v1/queues/a%00b/take-next")
    assert response.status_code == 422
    assert response.json()["errors"]["slug"]


def test_a_forged_cursor_carrying_a_nul_byte_is_ignored(agent, agent_api):
    TicketFactory(queue=agent.queues.get(), assignee=agent)
    forged = base64.urlsafe_b64encode(json.dumps([NUL, 1]).encode()).decode().rstrip("=")
    response = agent_api.get(
        "/api/v1/tickets", {"scope": "mine", "sort": "reference", "after": forged}
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


def test_invisible_characters_are_removed_from_names_and_text(client, api_key, valid_request_data):
    response = _post(
        client,
        "/api/v1/assistance-requests",
        {
            **valid_request_data,
            "requester_name": "Claire\u202e Dupont\u200b",
            "denomination": "Boulangerie\u2066 du Marché\u2069",
            "description": "Bonjour\u202d,\u200f merci.",
        },
        HTTP_X_API_KEY=api_key,
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.requester_name == "Claire Dupont"
    assert ticket.denomination == "Boulangerie du Marché"
    assert ticket.description == "Bonjour, merci."


def test_a_name_made_only_of_invisible_characters_is_missing(client, api_key, valid_request_data):
    response = _post(
        client,
        "/api/v1/assistance-requests",
        {**valid_request_data, "requester_name": "\u202e\u200b"},
        HTTP_X_API_KEY=api_key,
    )
    assert response.status_code == 422
    assert response.json()["errors"]["requester_name"] == ["Ce champ est obligatoire."]


def test_an_unexpected_error_is_a_json_500_without_internals(agent, agent_api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("SELECT secret FROM tickets_ticket -- internals")

    monkeypatch.setattr("backoffice.api.agent.ticket_note_add", broken)
    ticket = TicketFactory(queue=agent.queues.get())
    response = _post(agent_api, f"/api/v1/tickets/{ticket.pk}/notes", {"body": "ok"})
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"] == "Erreur interne du serveur. Réessayez plus tard."
    assert body["request_id"] == response["X-Request-ID"]
    assert "SELECT" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()


def test_the_schema_states_the_real_constraints(client):
    spec = client.get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]

    request_in = schemas["AssistanceRequestIn"]["properties"]
    motif = request_in["motif"]
    assert set(motif.get("enum") or schemas[motif["$ref"].split("/")[-1]]["enum"]) == {
        "habilitation_extranet",
        "fiche_etablissement",
        "decision_autorisation",
        "demande_indemnisation",
        "certificat_signature",
        "autres",
    }
    assert request_in["requester_name"]["minLength"] == 1
    assert request_in["requester_name"]["maxLength"] == 200
    assert "\\u0000" in request_in["description"]["pattern"]
    assert request_in["email"]["format"] == "email"
    assert request_in["siret"]["pattern"] == "^[0-9][0-9 .]*[0-9]$"

    ticket_out = schemas["TicketOut"]["properties"]
    assert ticket_out["priority"]["enum"] == [10, 20, 30, 40]
    assert set(ticket_out["status"]["enum"]) == {
        "nouveau",
        "en_cours",
        "en_attente",
        "resolu",
        "clos",
    }
    assert schemas["NoteIn"]["properties"]["body"]["minLength"] == 1

    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"]}

    def enum_of(schema):
        for option in schema.get("anyOf", [schema]):
            if "enum" in option:
                return set(option["enum"])
            if "items" in option and "enum" in option["items"]:
                return set(option["items"]["enum"])
        return None

    assert enum_of(params["age"]) == {"lt1d", "1to3d", "3to7d", "gt7d"}
    assert enum_of(params["status"]) == {"nouveau", "en_cours", "en_attente", "resolu", "clos"}
    assert enum_of(params["scope"]) == {"queue", "mine", "unassigned"}
    assert len(enum_of(params["motif"])) == 6


# --- Forms -------------------------------------------------------------------------------


def _project_form_classes():
    import accounts.extranet.forms
    import backoffice.filters
    import backoffice.forms
    import backoffice.notices.forms
    import tickets.forms

    modules = [
        accounts.extranet.forms,
        backoffice.filters,
        backoffice.forms,
        backoffice.notices.forms,
        tickets.forms,
    ]
    for module in modules:
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, django_forms.BaseForm) and cls.__module__ == module.__name__:
                yield cls


def test_every_form_of_the_project_applies_the_text_rule():
    classes = list(_project_form_classes())
    assert len(classes) > 20
    assert [c.__name__ for c in classes if not issubclass(c, SafeTextFormMixin)] == []


def test_the_public_form_shows_a_french_error_for_a_control_character(client, valid_request_data):
    from tests.backoffice.test_assistance_form import URL, with_captcha

    data = with_captcha(client, {**valid_request_data, "description": "Bonjour\u0007"})
    response = client.post(URL, data)
    assert response.status_code == 200
    assert "caractère non autorisé" in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_public_form_removes_bidi_overrides_from_the_name(
    client, valid_request_data, django_capture_on_commit_callbacks
):
    from tests.backoffice.test_assistance_form import URL, with_captcha

    data = with_captcha(client, {**valid_request_data, "requester_name": "Claire \u202eDupont"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data)
    assert response.status_code == 302
    assert Ticket.objects.get().requester_name == "Claire Dupont"


def test_an_extranet_form_refuses_a_control_character_in_french():
    from accounts.extranet.forms import ForgotIdentifiantForm

    form = ForgotIdentifiantForm(data={"siret": "73282932000074\u0000"})
    assert not form.is_valid()
    assert form.errors["siret"]


def test_clean_text_rules():
    assert clean_text("Dupont\u202e & Fils\u2066") == "Dupont & Fils"
    assert clean_text("ligne\nsuivante", one_line=True) == "ligne suivante"
    assert clean_text("ligne\nsuivante") == "ligne\nsuivante"
    for bad in ("\u0000", "\u0001", "\u001f", "\u007f", "\u009f", "\ud800"):
        with pytest.raises(ValueError):
            clean_text(f"a{bad}b")


def test_a_nul_byte_in_a_credential_is_a_401_not_a_database_error(client, valid_request_data):
    response = _post(
        client, "/api/v1/assistance-requests", valid_request_data, HTTP_X_API_KEY="ab\u0000c.d"
    )
    assert response.status_code == 401
    response = client.get("/api/v1/tickets", HTTP_AUTHORIZATION="Bearer ab\u0000c.d")
    assert response.status_code == 401


def test_a_nul_byte_in_a_page_address_is_a_404_not_a_database_error(agent, verified_client):
    client = verified_client(agent)
    assert client.get("/backoffice/demandes/AP%00X/reattribution/").status_code == 404
    assert Client().get("/code-de-securite/ab%00cd.wav").status_code == 404
