"""The postal code → towns table derived from the SIRENE registry, and its JSON lookup
("Créer mon espace", S3: "Veuillez saisir un code postal" then the towns)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from establishments.models import PostalCodeTown
from establishments.towns import postal_code_towns, postal_code_towns_rebuild
from tests.factories import RegistryEstablishmentFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"


def import_sample() -> str:
    out = io.StringIO()
    call_command("import_sirene", str(SAMPLE), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_import_of_the_sample_fills_the_towns_of_each_postal_code():
    out = import_sample()
    assert "Communes ajoutées aux codes postaux : 15" in out
    assert postal_code_towns(postal_code="33000") == ["BORDEAUX"]
    assert postal_code_towns(postal_code="97400") == ["SAINT-DENIS"]
    # Three Paris postal codes, one town each; the malformed rows bring nothing.
    assert postal_code_towns(postal_code="75011") == ["PARIS"]
    assert PostalCodeTown.objects.count() == 15
    assert not PostalCodeTown.objects.exclude(postal_code__regex=r"^[0-9]{5}$").exists()


def test_a_second_import_adds_nothing():
    import_sample()
    out = import_sample()
    assert "Communes ajoutées aux codes postaux : 0" in out
    assert PostalCodeTown.objects.count() == 15


def test_a_postal_code_shared_by_several_towns_lists_them_in_order():
    for siret, city in [
        ("73282932000074", "SAINT-PIERRE"),
        ("52601815500014", "LE TAMPON"),
        ("90830166600016", "SAINT-PIERRE"),
    ]:
        RegistryEstablishmentFactory(siret=siret, postal_code="97410", city=city)
    assert postal_code_towns_rebuild() == 2
    assert postal_code_towns(postal_code="97410") == ["LE TAMPON", "SAINT-PIERRE"]


@pytest.mark.parametrize("code", ["", "3300", "330000", "33 000", "abcde", None])
def test_a_malformed_postal_code_has_no_town(code):
    import_sample()
    assert postal_code_towns(postal_code=code) == []


def test_the_json_lookup_answers_the_towns_of_the_imported_sample(client):
    import_sample()
    response = client.get(reverse("postal_code_towns"), {"code_postal": "33000"})
    assert response.status_code == 200
    assert response.json() == {"postal_code": "33000", "towns": ["BORDEAUX"]}
    assert "max-age=3600" in response["Cache-Control"]

    unknown = client.get(reverse("postal_code_towns"), {"code_postal": "12345"})
    assert unknown.json() == {"postal_code": "12345", "towns": []}


def test_without_javascript_the_town_stays_a_free_text_field(client):
    """The form page itself offers a plain text input for the town: the list is only
    added by the script, which the form's data attributes configure."""
    session = client.session
    session["space_create_siret"] = "90830166600016"
    session.save()
    page = client.get(reverse("space_create_form")).content.decode()
    assert 'name="city"' in page and 'type="text"' in page
    assert 'data-towns-of="id_postal_code"' in page
    assert f'data-towns-url="{reverse("postal_code_towns")}"' in page
    assert "Veuillez saisir un code postal" in page
