"""Agents never see or set a password: no back-office form, page or API schema carries
one. And the agents' reassignment API keeps the workflow's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django import forms as django_forms

from accounts.extranet import forms as account_forms
from accounts.extranet.models import AccountReassignment, ReassignmentState
from tests.accounts.helpers import record_siret_verification
from tests.factories import EstablishmentFactory, ExtranetAccountFactory, TicketFactory
from tests.support.auth import otp_login

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_WORDS = re.compile(r"password|mot de passe|mot_de_passe|passwd", re.IGNORECASE)
PAYLOAD = {
    "new_holder_last_name": "Dupont",
    "new_holder_first_name": "Claire",
    "new_holder_email": "claire.dupont@exemple.fr",
    "new_holder_phone": "01 02 03 04 05",
    "evidence_notes": "Kbis vérifié, appel au standard.",
}


def test_no_agent_api_schema_carries_a_password(client):
    schema = client.get("/api/openapi.json").json()
    paths = [p for p in schema["paths"] if "reassignment" in p]
    assert len(paths) == 6  # list, file, prepare, approve, reject, cancel are documented
    assert not PASSWORD_WORDS.search(json.dumps(schema))


def test_no_back_office_template_or_form_carries_a_password():
    for template in (ROOT / "templates" / "backoffice").rglob("*.html"):
        if template.parent.name == "auth":
            # The agents' own sign-in pages: their own password, never an extranet one.
            continue
        text = template.read_text()
        assert 'type="password"' not in text, template
        assert not PASSWORD_WORDS.search(
            text.replace("Le mot de passe n'est jamais choisi par l'assistance", "")
        ), template
    for form_class in (
        account_forms.ReassignmentPrepareForm,
        account_forms.ReassignmentDecisionForm,
    ):
        for name, field in form_class.base_fields.items():
            assert not PASSWORD_WORDS.search(name)
            assert not isinstance(field.widget, django_forms.PasswordInput)


def test_the_rendered_back_office_pages_have_no_password_input(client, agent):
    account = ExtranetAccountFactory(establishment=EstablishmentFactory(siret="73282932000074"))
    ticket = TicketFactory(siret=account.establishment.siret)
    record_siret_verification(ticket)
    otp_login(client, agent)
    page = client.get(f"/backoffice/demandes/{ticket.reference}/reattribution/")
    assert 'type="password"' not in page.content.decode()


@pytest.fixture
def verified_ticket():
    account = ExtranetAccountFactory(establishment=EstablishmentFactory(siret="73282932000074"))
    ticket = TicketFactory(siret=account.establishment.siret)
    record_siret_verification(ticket)
    return ticket


def post_json(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_the_api_prepares_lists_and_refuses_the_preparer_approving(
    client, agent, supervisor, verified_ticket
):
    assert client.get("/api/v1/reassignments").status_code == 401
    otp_login(client, agent)
    created = post_json(
        client, f"/api/v1/tickets/{verified_ticket.reference}/reassignments", PAYLOAD
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "prepared" and body["repeated_within_window"] is False
    assert [r["id"] for r in client.get("/api/v1/reassignments").json()] == [body["id"]]
    # An agent cannot approve; the preparer cannot either.
    url = f"/api/v1/reassignments/{body['id']}/approve"
    assert post_json(client, url, {"file_version": "x"}).status_code == 403
    otp_login(client, supervisor)
    file = client.get(f"/api/v1/reassignments/{body['id']}").json()
    assert file["signals"] == [] and file["approvals_required"] == 1
    approved = post_json(client, url, {"file_version": file["file_version"]})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert post_json(client, f"/api/v1/reassignments/{body['id']}/reject").status_code == 409


def test_the_api_refuses_without_verification(client, agent):
    account = ExtranetAccountFactory(establishment=EstablishmentFactory(siret="73282932000074"))
    ticket = TicketFactory(siret=account.establishment.siret)
    otp_login(client, agent)
    response = post_json(client, f"/api/v1/tickets/{ticket.reference}/reassignments", PAYLOAD)
    assert response.status_code == 409
    assert "SIRET" in response.json()["detail"]
    assert not AccountReassignment.objects.exists()


def test_the_api_supervisor_preparing_cannot_approve_own(client, supervisor, verified_ticket):
    otp_login(client, supervisor)
    created = post_json(
        client, f"/api/v1/tickets/{verified_ticket.reference}/reassignments", PAYLOAD
    ).json()
    version = client.get(f"/api/v1/reassignments/{created['id']}").json()["file_version"]
    response = post_json(
        client, f"/api/v1/reassignments/{created['id']}/approve", {"file_version": version}
    )
    assert response.status_code == 403
    assert AccountReassignment.objects.get().state == ReassignmentState.PREPARED
