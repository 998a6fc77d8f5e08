"""SIRET verification on a ticket: checks, verdicts, the event contract, UI and API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from establishments.selectors import denomination_compare, denomination_normalize
from tests.factories import RegistryEstablishmentFactory, TicketFactory
from tests.support.auth import otp_login
from tickets.exceptions import SiretVerificationRefused
from tickets.models import EventKind, SiretVerification, Status, TicketEvent
from tickets.verification import (
    ticket_siret_checks,
    ticket_siret_verification_passed,
    ticket_siret_verify,
)

pytestmark = pytest.mark.django_db

BAKERY = "73282932000074"


@pytest.fixture
def registry_bakery():
    return RegistryEstablishmentFactory(
        siret=BAKERY,
        denomination="BOULANGERIE DU MARCHE",
        street_number="12",
        street_name="RUE DU MARCHE",
        postal_code="75011",
        city="PARIS",
    )


@pytest.fixture
def ticket(registry_bakery):
    return TicketFactory(siret=BAKERY, denomination="Boulangerie du Marché SARL")


def codes(checks):
    return [w["code"] for w in checks["warnings"]]


# --- Name normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, normalised",
    [
        ("Boulangerie du Marché", "boulangerie du marche"),
        ("BOULANGERIE  DU MARCHE", "boulangerie du marche"),
        ("Transports Martin SARL", "transports martin"),
        ("S.A.R.L. Transports Martin", "transports martin"),
        ("SAS L'Étoile-Filante", "l etoile filante"),
        ("Atelier Bois & Design", "atelier bois et design"),
        ("EURL Dupont, SA", "dupont"),
        ("", ""),
    ],
)
def test_denomination_normalize(value, normalised):
    assert denomination_normalize(value) == normalised


@pytest.mark.parametrize(
    "declared, registered, expected",
    [
        ("Transports Martin SARL", "TRANSPORTS MARTIN", "exact"),
        ("Hôtel des Remparts", "HOTEL DES REMPARTS", "exact"),
        ("Martin Transports", "TRANSPORTS MARTIN", "close"),
        ("Boulangerie du Marche", "BOULANGERIE DU MARCHÉ S.A.S.", "exact"),
        ("Boulangeries du Marché", "BOULANGERIE DU MARCHE", "close"),
        ("Garage Dupont", "BOULANGERIE DU MARCHE", "different"),
        ("Boulangerie", "BOULANGERIE DU MARCHE", "different"),
        ("Garage Dupont", "", "unknown"),
        ("SARL", "SARL", "unknown"),
    ],
)
def test_denomination_compare(declared, registered, expected):
    assert denomination_compare(declared, registered)[0] == expected


# --- Checks --------------------------------------------------------------------------------


def test_checks_of_a_valid_active_matching_siret_have_no_warning(ticket):
    checks = ticket_siret_checks(ticket=ticket)
    assert checks == {
        "siret": BAKERY,
        "checksum_valid": True,
        "registry_found": True,
        "administrative_status": "A",
        "registry_denomination": "BOULANGERIE DU MARCHE",
        "registry_address": ["12 RUE DU MARCHE", "75011 PARIS"],
        "registry_started_on": None,
        "declared_denomination": "Boulangerie du Marché SARL",
        "name_match": "exact",
        "name_similarity": 1.0,
        "recent_requests": 0,
        "recent_requests_days": 30,
        "warnings": [],
    }
    json.dumps(checks)  # stored as JSON: must serialise as it is


def test_checks_run_two_queries(ticket):
    with CaptureQueriesContext(connection) as ctx:
        ticket_siret_checks(ticket=ticket)
    assert len(ctx.captured_queries) == 2


def test_unknown_siret_warning():
    ticket = TicketFactory(siret="52601815500014", denomination="Transports Martin")
    checks = ticket_siret_checks(ticket=ticket)
    assert checks["registry_found"] is False
    assert checks["administrative_status"] is None
    assert checks["name_match"] == "unknown"
    assert codes(checks) == ["unknown_siret"]


def test_closed_establishment_warning():
    RegistryEstablishmentFactory(
        siret="13186091800013", denomination="HOTEL DES REMPARTS", closed=True
    )
    ticket = TicketFactory(siret="13186091800013", denomination="Hôtel des Remparts")
    assert codes(ticket_siret_checks(ticket=ticket)) == ["closed"]


def test_name_mismatch_warning(registry_bakery):
    ticket = TicketFactory(siret=BAKERY, denomination="Garage des Quatre Routes")
    checks = ticket_siret_checks(ticket=ticket)
    assert checks["name_match"] == "different"
    assert codes(checks) == ["name_mismatch"]


def test_registry_without_a_name_warns_that_the_name_cannot_be_checked():
    RegistryEstablishmentFactory(siret="90830166600016", denomination="")
    ticket = TicketFactory(siret="90830166600016", denomination="Atelier Bois")
    assert codes(ticket_siret_checks(ticket=ticket)) == ["name_unverifiable"]


def test_invalid_checksum_warning():
    ticket = TicketFactory(siret="73282932000075", denomination="Boulangerie du Marché")
    checks = ticket_siret_checks(ticket=ticket)
    assert checks["checksum_valid"] is False
    assert codes(checks) == ["invalid_checksum", "unknown_siret"]


def test_recent_requests_on_the_same_siret_are_counted_over_30_days(registry_bakery):
    now = timezone.now()
    with freeze_time(now):
        ticket = TicketFactory(siret=BAKERY, denomination="Boulangerie du Marché")
        TicketFactory(siret=BAKERY, created_at=now - timedelta(days=29))
        TicketFactory(siret=BAKERY, created_at=now - timedelta(days=3), status=Status.CLOS)
        TicketFactory(siret=BAKERY, created_at=now - timedelta(days=31))
        TicketFactory(siret="52601815500014", created_at=now - timedelta(days=1))
        checks = ticket_siret_checks(ticket=ticket)
    assert checks["recent_requests"] == 2
    assert codes(checks) == ["recent_requests"]
    assert "2 autre(s) demande(s) sur ce SIRET ces 30 derniers jours." in [
        w["message"] for w in checks["warnings"]
    ]


# --- Verdicts and the event contract -------------------------------------------------------


@pytest.mark.parametrize("verdict", ["passed", "failed", "inconclusive"])
def test_each_verdict_is_recorded_with_its_event(ticket, agent, verdict):
    verification = ticket_siret_verify(
        ticket=ticket, actor=agent, verdict=verdict, comment="  Kbis et appel au gérant.  "
    )
    assert verification.verdict == verdict
    assert verification.comment == "Kbis et appel au gérant."
    assert verification.actor == agent
    assert verification.checks == ticket_siret_checks(ticket=ticket)
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.SIRET_VERIFIED)
    assert event.actor == agent
    # The contract the reassignment workflow reads: exactly these three keys.
    assert event.data == {
        "verdict": verdict,
        "comment": "Kbis et appel au gérant.",
        "checks": verification.checks,
    }
    assert ticket_siret_verification_passed(ticket) is (verdict == "passed")


def test_only_the_latest_verdict_counts(ticket, agent, supervisor):
    assert ticket_siret_verification_passed(ticket) is False
    ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Conforme.")
    assert ticket_siret_verification_passed(ticket) is True
    ticket_siret_verify(
        ticket=ticket, actor=supervisor, verdict="failed", comment="Gérant injoignable."
    )
    assert ticket_siret_verification_passed(ticket) is False
    ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Rappelé.")
    assert ticket_siret_verification_passed(ticket) is True
    assert SiretVerification.objects.filter(ticket=ticket).count() == 3


def test_a_passed_event_on_another_ticket_does_not_count(ticket, agent, registry_bakery):
    other = TicketFactory(siret=BAKERY, denomination="Boulangerie du Marché")
    ticket_siret_verify(ticket=other, actor=agent, verdict="passed", comment="Conforme.")
    assert ticket_siret_verification_passed(ticket) is False


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_comment_is_required(ticket, agent, comment):
    with pytest.raises(SiretVerificationRefused, match="commentaire est obligatoire") as exc:
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="failed", comment=comment)
    assert exc.value.field == "comment"
    assert not SiretVerification.objects.exists()
    assert not TicketEvent.objects.filter(kind=EventKind.SIRET_VERIFIED).exists()


def test_an_unknown_verdict_is_refused(ticket, agent):
    with pytest.raises(SiretVerificationRefused):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="ok", comment="x")


def test_passed_is_refused_for_an_unknown_siret_but_failed_is_accepted(agent):
    ticket = TicketFactory(siret="52601815500014", denomination="Transports Martin")
    with pytest.raises(SiretVerificationRefused, match="inconnu du registre"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Vu.")
    assert not TicketEvent.objects.filter(kind=EventKind.SIRET_VERIFIED).exists()
    ticket_siret_verify(ticket=ticket, actor=agent, verdict="failed", comment="Inconnu.")
    assert ticket_siret_verification_passed(ticket) is False


def test_passed_is_refused_for_a_closed_establishment(agent):
    RegistryEstablishmentFactory(
        siret="13186091800013", denomination="HOTEL DES REMPARTS", closed=True
    )
    ticket = TicketFactory(siret="13186091800013", denomination="Hôtel des Remparts")
    with pytest.raises(SiretVerificationRefused, match="fermé"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Vu.")
    ticket_siret_verify(ticket=ticket, actor=agent, verdict="inconclusive", comment="Fermé ?")
    assert ticket_siret_verification_passed(ticket) is False


def test_passed_is_refused_for_an_invalid_siret(agent):
    ticket = TicketFactory(siret="73282932000075")
    with pytest.raises(SiretVerificationRefused, match="invalide"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Vu.")


def test_passed_is_refused_when_the_declared_name_is_another_one(agent, registry_bakery):
    ticket = TicketFactory(siret=BAKERY, denomination="Garage des Quatre Routes")
    with pytest.raises(SiretVerificationRefused, match="dénomination"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Vu.")


def test_a_closed_ticket_takes_no_verdict(agent, registry_bakery):
    ticket = TicketFactory(siret=BAKERY, status=Status.CLOS)
    with pytest.raises(SiretVerificationRefused, match="clos"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="failed", comment="Vu.")


def test_checks_are_recomputed_when_the_verdict_is_given(ticket, agent, registry_bakery):
    # The page showed an active establishment; it closed meanwhile: "passed" is refused.
    ticket_siret_checks(ticket=ticket)
    registry_bakery.administrative_status = "F"
    registry_bakery.save()
    with pytest.raises(SiretVerificationRefused, match="fermé"):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Vu.")


# --- Back-office page --------------------------------------------------------------------


def page_url(ticket):
    return f"/backoffice/tickets/{ticket.pk}/verification-siret/"


def test_the_page_shows_the_checks_and_the_form(client, agent, registry_bakery):
    ticket = TicketFactory(siret=BAKERY, denomination="Garage des Quatre Routes")
    TicketFactory(siret=BAKERY)
    otp_login(client, agent)
    response = client.get(page_url(ticket))
    assert response.status_code == 200
    html = response.content.decode()
    assert "!!MISSING" not in html
    assert "BOULANGERIE DU MARCHE" in html
    assert 'data-warning="name_mismatch"' in html
    assert 'data-warning="recent_requests"' in html
    assert 'name="verdict"' in html and 'name="comment"' in html


def test_posting_a_verdict_records_it_and_redirects(client, agent, ticket):
    otp_login(client, agent)
    response = client.post(
        page_url(ticket), {"verdict": "passed", "comment": "Kbis vérifié.", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert ticket_siret_verification_passed(ticket)
    response = client.get(page_url(ticket))
    assert "Verdict enregistré : SIRET vérifié : conforme." in response.content.decode()
    assert "Kbis vérifié." in response.content.decode()


def test_an_outside_next_url_is_ignored(client, agent, ticket):
    otp_login(client, agent)
    response = client.post(
        page_url(ticket),
        {"verdict": "failed", "comment": "Non.", "next": "https://evil.example/"},
    )
    assert response["Location"] == page_url(ticket)


def test_a_refused_verdict_shows_the_reason(client, agent):
    ticket = TicketFactory(siret="52601815500014")
    otp_login(client, agent)
    response = client.post(page_url(ticket), {"verdict": "passed", "comment": "Vu."})
    assert response.status_code == 400
    assert "inconnu du registre ne peut pas être déclaré conforme" in response.content.decode()
    assert not SiretVerification.objects.exists()


def test_a_missing_comment_is_a_form_error(client, agent, ticket):
    otp_login(client, agent)
    response = client.post(page_url(ticket), {"verdict": "failed", "comment": ""})
    assert response.status_code == 400
    assert "Un commentaire est obligatoire" in response.content.decode()


def test_an_agent_of_another_queue_gets_404(client, other_agent, ticket):
    otp_login(client, other_agent)
    assert client.get(page_url(ticket)).status_code == 404
    response = client.post(page_url(ticket), {"verdict": "failed", "comment": "x"})
    assert response.status_code == 404
    assert not SiretVerification.objects.exists()


def test_a_supervisor_sees_every_queue(client, supervisor, ticket):
    otp_login(client, supervisor)
    assert client.get(page_url(ticket)).status_code == 200


def test_anonymous_is_sent_to_the_login_page(client, ticket):
    response = client.post(page_url(ticket), {"verdict": "failed", "comment": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/connexion/")
    assert not SiretVerification.objects.exists()


# --- API --------------------------------------------------------------------------------


def api_check(ticket):
    return f"/api/v1/tickets/{ticket.pk}/siret-check"


def api_verify(ticket):
    return f"/api/v1/tickets/{ticket.pk}/siret-verification"


def test_api_returns_the_checks(client, agent, ticket):
    otp_login(client, agent)
    response = client.get(api_check(ticket))
    assert response.status_code == 200
    assert response.json() == ticket_siret_checks(ticket=ticket)


def test_api_records_a_verdict(client, agent, ticket):
    otp_login(client, agent)
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "passed", "comment": "Kbis vérifié."}),
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["verdict"] == "passed"
    assert body["actor_id"] == agent.pk
    assert body["checks"]["name_match"] == "exact"
    assert ticket_siret_verification_passed(ticket)


def test_api_refusal_is_a_422_with_a_french_message(client, agent):
    ticket = TicketFactory(siret="52601815500014")
    otp_login(client, agent)
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "passed", "comment": "Vu."}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "verdict": ["Un SIRET inconnu du registre ne peut pas être déclaré conforme."]
    }
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "failed", "comment": " "}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["comment"]


def test_api_hides_other_queues_tickets(client, other_agent, ticket):
    otp_login(client, other_agent)
    assert client.get(api_check(ticket)).status_code == 404
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "failed", "comment": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Ce ticket n'existe pas ou ne vous est pas accessible."}
    assert not SiretVerification.objects.exists()


def test_api_needs_a_session(client, ticket):
    assert client.get(api_check(ticket)).status_code == 401
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "failed", "comment": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 401


def test_api_post_needs_the_csrf_token(agent, ticket):
    client = Client(enforce_csrf_checks=True)
    otp_login(client, agent)
    response = client.post(
        api_verify(ticket),
        data=json.dumps({"verdict": "failed", "comment": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not SiretVerification.objects.exists()


def test_api_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/tickets/{ticket_id}/siret-check" in paths
    assert "/api/v1/tickets/{ticket_id}/siret-verification" in paths


def test_an_htmx_request_gets_the_partial_only(client, agent, ticket):
    otp_login(client, agent)
    response = client.get(page_url(ticket), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="verification-siret"' in html
    assert "!!MISSING" not in html
