"""The footer's mandatory links (DSFR footer pattern) and their pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

FOOTER_LINKS = {
    "accessibility": "Accessibilité : non conforme",
    "legal_notice": "Mentions légales",
    "personal_data": "Données personnelles",
    "cookies": "Gestion des cookies",
    "cgu": "Conditions générales d&#x27;utilisation",
    "assistance_request": "Contacter le support technique",
}


def footer_of(page: str) -> str:
    return page[page.index('<footer class="fr-footer"') : page.index("</footer>")]


@pytest.mark.parametrize("name", ["home", "space_create_start", "assistance_request", "cgu"])
def test_every_public_page_has_the_mandatory_footer_links(client, name):
    footer = footer_of(client.get(reverse(name)).content.decode())
    assert 'class="fr-footer__bottom-list"' in footer
    for url_name, label in FOOTER_LINKS.items():
        text = label.replace("&#x27;", "'")
        link = f'<a class="fr-footer__bottom-link" href="{reverse(url_name)}">'
        assert link in footer, url_name
        assert text in footer or label in footer, label


@pytest.mark.parametrize(
    "name, heading",
    [
        ("accessibility", "Déclaration d&#x27;accessibilité"),
        ("legal_notice", "Mentions légales"),
        ("personal_data", "Données personnelles"),
        ("cookies", "Gestion des cookies"),
        ("accountant", "Vous êtes expert-comptable et vous représentez un établissement ?"),
    ],
)
def test_each_footer_page_is_served_in_french(client, name, heading):
    response = client.get(reverse(name))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<h1>{heading.replace('&#x27;', chr(39))}</h1>" in page or f"<h1>{heading}</h1>" in page


def test_the_accessibility_statement_gives_the_level_and_the_known_gaps(client):
    page = client.get(reverse("accessibility")).content.decode()
    assert "<strong>non conforme</strong>" in page
    assert "axe-core 4.14" in page
    assert "Non-conformités connues" in page
    assert "Défenseur des droits" in page


def test_the_personal_data_page_quotes_the_retention_setting(client, settings):
    settings.TICKET_RETENTION_MONTHS = 18
    settings.RECOVERY_LINK_VALIDITY_MINUTES = 45
    page = client.get(reverse("personal_data")).content.decode()
    assert "puis 18 mois" in page
    assert "pendant 45 minutes" in page
    for collected in ("SIRET", "adresse électronique", "empreinte du mot de passe", "Adresse IP"):
        assert collected in page


def test_the_cookies_page_lists_only_the_necessary_cookies(client, settings):
    page = client.get(reverse("cookies")).content.decode()
    assert "<code>sessionid</code>" in page and "<code>csrftoken</code>" in page
    assert f"{settings.SESSION_COOKIE_AGE // 3600} heures au plus" in page
    assert "aucun cookie de mesure d&#x27;audience" in page or (
        "aucun cookie de mesure d'audience" in page
    )


def test_the_home_page_links_the_simulator_as_an_external_link(client, settings):
    settings.SIMULATOR_URL = "https://simulateur.example.gouv.fr/"
    page = client.get(reverse("home")).content.decode()
    assert (
        '<a class="fr-link" href="https://simulateur.example.gouv.fr/" target="_blank" '
        'rel="noopener"' in page
    )
    assert "nouvelle fenêtre" in page
    assert "Simulation de l&#x27;indemnisation de l&#x27;employeur" in page or (
        "Simulation de l'indemnisation de l'employeur" in page
    )
    assert f'href="{reverse("accountant")}"' in page and "CONTRAT DE PRESTATION" in page
