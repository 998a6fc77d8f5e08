"""The error pages with DEBUG off: French, DSFR, the right status, a way back, and no
internals (no exception text, no URL list, no Django wording)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.backoffice.errors_urls import SECRET_DETAIL

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.backoffice.errors_urls")]

INTERNALS = (
    SECRET_DETAIL,
    "Traceback",
    "urlpatterns",
    "URLconf",
    "DEBUG",
    "Django",
    "Not Found",
    "Forbidden",
    "Server Error",
    "Bad Request",
    "CSRF verification failed",
)


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


def assert_french_dsfr_error_page(response, *, status: int, title: str) -> str:
    assert response.status_code == status
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert f"<h1>{title}</h1>" in page
    assert f"Erreur {status}" in page
    # The State's look: DSFR header and footer, and the ways back.
    assert 'class="fr-header"' in page and 'class="fr-footer"' in page
    assert f'href="{reverse("home")}"' in page and "Page d'accueil" in page
    assert f'href="{reverse("assistance_request")}"' in page
    for internal in INTERNALS:
        assert internal not in page, internal
    return page


def test_an_unknown_address_gets_the_french_404_page(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert_french_dsfr_error_page(response, status=404, title="Page non trouvée")


def test_a_bad_request_gets_the_french_400_page(client):
    response = client.get("/test-errors/400/")
    assert_french_dsfr_error_page(response, status=400, title="Requête incorrecte")


def test_a_refused_access_gets_the_french_403_page(client):
    response = client.get("/test-errors/403/")
    assert_french_dsfr_error_page(response, status=403, title="Accès refusé")


def test_a_crash_gets_the_french_500_page_without_the_exception():
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/500/")
    assert_french_dsfr_error_page(response, status=500, title="Erreur inattendue")


def test_a_crash_in_the_back_office_offers_the_way_back_there_too(client):
    response = client.get("/backoffice/cette-page-n-existe-pas/")
    page = assert_french_dsfr_error_page(response, status=404, title="Page non trouvée")
    assert f'href="{reverse("backoffice:home")}"' in page


def test_the_500_page_still_shows_when_the_context_processors_fail(monkeypatch):
    def broken(request):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("backoffice.context_processors.notices_live", broken)
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/500/")
    assert_french_dsfr_error_page(response, status=500, title="Erreur inattendue")


def test_a_form_posted_without_its_csrf_cookie_gets_the_french_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("forgot_identifiant"), {"siret": "73282932000074"})
    page = assert_french_dsfr_error_page(response, status=403, title="Formulaire expiré")
    assert "rechargez-la" in page


def test_the_429_page_has_the_same_look(client, settings):
    settings.PUBLIC_FORM_POSTS_PER_IP_PER_HOUR = 1
    client.post(reverse("forgot_identifiant"), {"siret": ""})
    response = client.post(reverse("forgot_identifiant"), {"siret": ""})
    assert_french_dsfr_error_page(response, status=429, title="Trop de demandes")
