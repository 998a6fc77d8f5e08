"""manage.py import_sirene on the sample shipped in the repository."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from establishments import services
from establishments.models import Establishment, RegistryEstablishment
from establishments.services import registry_import
from establishments.signals import registry_closed
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"
SAMPLE_VALID = 39


def run(path=SAMPLE, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_sirene", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def test_it_imports_the_sample_and_reports_each_rejection_reason():
    out, err = run(SAMPLE, "--progress-every", "10")
    assert RegistryEstablishment.objects.count() == SAMPLE_VALID
    assert "Lignes lues             : 47" in out
    assert f"Insérées                : {SAMPLE_VALID}" in out
    assert "Rejetées                : 8" in out
    assert (
        f"{services.REJECT_SIRET} : 3 — ligne 41 (73282932000075), ligne 42 (00000000000000)"
    ) in out
    assert f"{services.REJECT_SIREN_MISMATCH} : 1" in out
    assert f"{services.REJECT_STATUS} : 1" in out
    assert f"{services.REJECT_DATE} : 1" in out
    assert f"{services.REJECT_MALFORMED} : 1 — ligne 47" in out
    assert f"{services.REJECT_DUPLICATE} : 1" in out
    # Progress on stderr, with a rate.
    assert "10 lignes lues" in err and "lignes/s" in err
    assert "40 lignes lues" in err


def test_it_maps_the_insee_columns():
    run()
    bakery = RegistryEstablishment.objects.get(siret="73282932000074")
    assert bakery.siren == "732829320"
    assert bakery.denomination == "BOULANGERIE DU MARCHE"
    assert bakery.administrative_status == "A"
    assert bakery.address_lines == ["12 RUE DU MARCHE", "75011 PARIS"]
    assert str(bakery.started_on) == "2015-03-01"
    # No dénomination usuelle: the enseigne is used.
    la_poste = RegistryEstablishment.objects.get(siret="35600000000048")
    assert la_poste.denomination == "LA POSTE"
    # A La Poste establishment valid by its digit-sum rule only, with "B" → "bis".
    rennes = RegistryEstablishment.objects.get(siret="35600000000001")
    assert rennes.address_lines == ["27 bis BOULEVARD DE LA LIBERTE", "35000 RENNES"]
    assert RegistryEstablishment.objects.get(siret="13186091800013").administrative_status == "F"
    assert RegistryEstablishment.objects.filter(administrative_status="F").count() == 9
    # Neither dénomination nor enseigne: kept, with an empty dénomination.
    assert RegistryEstablishment.objects.filter(denomination="").count() == 2


def test_a_second_run_is_idempotent():
    run()
    out, _ = run()
    assert "Insérées                : 0" in out
    assert "Mises à jour            : 0" in out
    assert f"Inchangées              : {SAMPLE_VALID}" in out
    assert RegistryEstablishment.objects.count() == SAMPLE_VALID


def test_changed_rows_are_detected_as_updates(tmp_path):
    run()
    changed = sample_text().replace(
        "2015-03-01,A,,,,BOULANGERIE DU MARCHE", "2024-01-31,F,,,,BOULANGERIE DU MARCHE"
    )
    path = tmp_path / "StockEtablissement_utf8.csv"
    path.write_text(changed, encoding="utf-8")
    out, _ = run(path)
    assert "Insérées                : 0" in out
    assert "Mises à jour            : 1" in out
    assert RegistryEstablishment.objects.get(siret="73282932000074").administrative_status == "F"


def test_it_updates_the_registry_status_of_known_establishments():
    bakery = EstablishmentFactory(siret="73282932000074", registry_status="")
    hotel = EstablishmentFactory(siret="13186091800013", registry_status="A")
    out, _ = run()
    bakery.refresh_from_db()
    hotel.refresh_from_db()
    assert (bakery.registry_status, hotel.registry_status) == ("A", "F")
    assert "Établissements connus dont l'état a changé : 2" in out
    out, _ = run()
    assert "Établissements connus dont l'état a changé : 0" in out
    assert Establishment.objects.count() == 2


def test_small_batches_give_the_same_result():
    run(SAMPLE, "--batch-size", "7")
    assert RegistryEstablishment.objects.count() == SAMPLE_VALID


def test_it_reads_gz_and_zip(tmp_path):
    gz = tmp_path / "StockEtablissement_utf8.csv.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    out, _ = run(gz)
    assert f"Insérées                : {SAMPLE_VALID}" in out
    RegistryEstablishment.objects.all().delete()
    archive = tmp_path / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(SAMPLE, "StockEtablissement_utf8.csv")
    out, _ = run(archive)
    assert f"Insérées                : {SAMPLE_VALID}" in out


def test_require_denomination_rejects_rows_without_one():
    out, _ = run(SAMPLE, "--require-denomination")
    assert f"{services.REJECT_NO_DENOMINATION} : 2" in out
    assert RegistryEstablishment.objects.count() == SAMPLE_VALID - 2


def test_missing_columns_stop_the_command_with_a_french_message(tmp_path):
    text = sample_text().replace("etatAdministratifEtablissement", "etat", 1)
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match="Colonnes INSEE manquantes.*etatAdministratif"):
        run(path)
    assert not RegistryEstablishment.objects.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "Le fichier est vide"),
        (b"\xff\xfe\x00s\x00i\x00r\x00e\x00n", "n'est pas encodé en UTF-8"),
    ],
)
def test_unusable_files_stop_the_command(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run(path)


def test_a_bad_byte_in_the_middle_of_the_file_stops_the_command(tmp_path):
    # Decoded long after the header (text is decoded 8 KB at a time): on PostgreSQL by the
    # import's reader thread, whose error reaches the command all the same.
    sample = SAMPLE.read_bytes()
    path = tmp_path / "x.csv"
    path.write_bytes(sample + sample.splitlines(keepends=True)[1] * 300 + b"TRANSPORTS \xff\n")
    with pytest.raises(CommandError, match="n'est pas encodé en UTF-8"):
        run(path)


def test_a_missing_file_or_a_broken_archive_stops_the_command(tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        run(tmp_path / "absent.csv")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="Archive illisible"):
        run(broken)


def test_an_unreadable_line_is_rejected_and_the_import_goes_on():
    header, *lines = sample_text().splitlines()
    huge = "x" * 200
    text = "\n".join([header, f'"{huge}"', *lines[:3]]) + "\n"
    old = csv.field_size_limit(100)
    try:
        report = registry_import(stream=io.StringIO(text))
    finally:
        csv.field_size_limit(old)
    assert report.rejected[services.REJECT_UNREADABLE] == 1
    assert report.inserted == 3


def test_seed_demo_loads_the_registry_from_the_sample_and_stays_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert RegistryEstablishment.objects.count() == SAMPLE_VALID
    hotel = Establishment.objects.get(siret="13186091800013")
    assert hotel.registry_status == "F"


def test_closures_are_signalled_once_per_batch_with_their_sirets(tmp_path):
    """``registry_closed`` (see establishments/signals.py) on whichever path the database
    takes: a SIRET the registry or a known establishment had as active and the file says
    closed; never a SIRET that is new to both."""
    received = []

    def receiver(sender, sirets, **kwargs):
        received.append((sender, sirets))

    EstablishmentFactory(siret="13186091800013", registry_status="A")
    registry_closed.connect(receiver)
    try:
        run()
        assert received == [(RegistryEstablishment, frozenset({"13186091800013"}))]
        received.clear()
        changed = (
            sample_text()
            .replace(
                "2015-03-01,A,,,,BOULANGERIE DU MARCHE", "2024-01-31,F,,,,BOULANGERIE DU MARCHE"
            )
            .replace("2015-03-01,A,,,,TRANSPORTS MARTIN", "2024-01-31,F,,,,TRANSPORTS MARTIN")
        )
        path = tmp_path / "StockEtablissement_utf8.csv"
        path.write_text(changed, encoding="utf-8")
        run(path, "--batch-size", "2")  # the two closures fall in the same batch of 2 rows
        assert received == [
            (RegistryEstablishment, frozenset({"73282932000074", "52601815500014"}))
        ]
        received.clear()
        run(path)
        assert received == []
    finally:
        registry_closed.disconnect(receiver)
