"""Security headers on every HTML page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/",
    "/assistance/",
    "/api/docs",
    "/creer-mon-espace/",
    "/cgu/",
    "/compte/identifiant-oublie/",
    "/compte/mot-de-passe-oublie/",
    "/backoffice/connexion/",
]
BACKOFFICE_PAGES = [
    "/backoffice/files/habilitation/",
    "/backoffice/mes-tickets/",
    "/backoffice/non-assignes/",
    "/backoffice/bandeaux/",
    "/backoffice/bandeaux/nouveau/",
    "/backoffice/reattributions/",
    "/backoffice/tableau-de-bord/",
    "/backoffice/routage/",
    "/backoffice/jetons/",
]


def assert_security_headers(response):
    assert response["Content-Type"].startswith("text/html")
    # A multi-line {# … #} is not a comment in Django: it would show on the page.
    assert "{#" not in response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_html_pages_carry_csp_and_security_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert_security_headers(response)


@pytest.mark.parametrize("url", BACKOFFICE_PAGES)
def test_backoffice_html_pages_carry_csp_and_security_headers(verified_client, url):
    from tests.factories import UserFactory

    response = verified_client(UserFactory(supervisor=True)).get(url)
    assert response.status_code == 200, url
    assert_security_headers(response)


def test_a_forged_host_header_is_refused(client):
    response = client.get("/assistance/", HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_the_api_docs_are_served_from_our_own_static_files(client):
    html = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html


def test_liveness_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
