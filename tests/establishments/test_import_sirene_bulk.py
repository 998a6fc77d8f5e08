"""The set-based import (PostgreSQL) against the row-by-row one: same report, same rows.

Each test imports the same file twice into an empty registry, once per path, and compares
everything the import produces: the counts, every rejection reason with its count, its
examples (line numbers and values) and the order of reasons, the registry rows (every
column but the import time), the known establishments' status, and the closures signalled.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from stdnum.fr import siret as stdnum_siret

from establishments import registry_bulk
from establishments.exceptions import RegistryImportError
from establishments.models import Establishment, RegistryEstablishment
from establishments.services import registry_import
from establishments.signals import registry_closed
from tests.factories import EstablishmentFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db]

SAMPLE = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"
HEADER = SAMPLE.read_text(encoding="utf-8").splitlines()[0].split(",")
COLUMNS = [f.name for f in RegistryEstablishment._meta.concrete_fields if f.name != "imported_at"]


def luhn_complete(payload: str) -> str:
    """``payload`` followed by the digit that makes it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 * (digit >= 5)
        total += digit
    return payload + str(-total % 10)


def valid_siret(rng: random.Random) -> str:
    siren = luhn_complete(f"{rng.randrange(10**8):08d}")
    return luhn_complete(siren + f"{rng.randrange(10**4):04d}")


def row(**cells: str) -> list[str]:
    values = dict.fromkeys(HEADER, "")
    values.update(etatAdministratifEtablissement="A", dateDebut="2015-03-01")
    values.update({name.replace("__", ""): value for name, value in cells.items()})
    return [values[name] for name in HEADER]


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def snapshot(report) -> dict:
    return {
        "read": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": list(report.rejected.items()),  # with the order reasons first appeared
        "examples": report.examples,
        "establishments_updated": report.establishments_updated,
    }


def registry_rows() -> list[tuple]:
    return list(RegistryEstablishment.objects.order_by("siret").values_list(*COLUMNS))


def import_both(texts: list[str], *, reset=lambda: None, **options):
    """Import ``texts`` one after the other with each path, from the same starting state;
    return, per path, the reports, the final rows, the establishments' statuses and the
    closures signalled."""
    results = {}
    for bulk in (False, True):
        RegistryEstablishment.objects.all().delete()
        reset()
        closures: list[frozenset] = []

        def receiver(sender, sirets, **kwargs):
            closures.append(sirets)  # noqa: B023 (used inside this iteration only)

        registry_closed.connect(receiver)
        try:
            reports = [
                snapshot(registry_import(stream=io.StringIO(text), bulk=bulk, **options))
                for text in texts
            ]
        finally:
            registry_closed.disconnect(receiver)
        statuses = list(
            Establishment.objects.order_by("siret").values_list("siret", "registry_status")
        )
        results[bulk] = (reports, registry_rows(), statuses, closures)
    return results[False], results[True]


def test_the_sample_gives_the_same_report_and_rows_on_both_paths():
    text = SAMPLE.read_text(encoding="utf-8")
    rows, bulk = import_both([text, text])
    assert rows == bulk
    reports, stored, _statuses, _closures = bulk
    assert len(stored) == 39
    assert reports[0]["read"] == 47 and reports[0]["inserted"] == 39
    assert sum(count for _reason, count in reports[0]["rejected"]) == 8
    # The second run writes nothing.
    assert (reports[1]["inserted"], reports[1]["updated"], reports[1]["unchanged"]) == (0, 0, 39)


@pytest.mark.parametrize("batch_size", [1, 7, 10])
def test_small_batches_cut_the_file_in_the_same_places(batch_size):
    text = SAMPLE.read_text(encoding="utf-8")
    rows, bulk = import_both([text], batch_size=batch_size)
    assert rows == bulk


def test_require_denomination_gives_the_same_rejections():
    text = SAMPLE.read_text(encoding="utf-8")
    rows, bulk = import_both([text], require_denomination=True)
    assert rows == bulk
    assert ("ni dénomination usuelle ni enseigne", 2) in bulk[0][0]["rejected"]


def test_changes_updates_and_closures_are_the_same_on_both_paths():
    text = SAMPLE.read_text(encoding="utf-8")
    changed = text.replace(
        "2015-03-01,A,,,,BOULANGERIE DU MARCHE", "2024-01-31,F,,,,BOULANGERIE DU MARCHE"
    ).replace("TRANSPORTS MARTIN", "TRANSPORTS MARTIN ET FILS")

    def reset():
        Establishment.objects.all().delete()
        EstablishmentFactory(siret="73282932000074", registry_status="")  # A, then F
        EstablishmentFactory(siret="13186091800013", registry_status="A")  # F at once
        EstablishmentFactory(siret="52601815500014", registry_status="F")  # A

    rows, bulk = import_both([text, changed], reset=reset)
    assert rows == bulk
    reports, _stored, statuses, closures = bulk
    assert (reports[1]["updated"], reports[1]["unchanged"]) == (2, 37)
    assert dict(statuses)["73282932000074"] == "F"
    # First run: the hotel was "A" on its known establishment and the file says "F" (the
    # bakery is new to the registry and was unknown on its establishment: no closure).
    # Second run: the bakery's registry row and establishment went from "A" to "F".
    assert closures == [frozenset({"13186091800013"}), frozenset({"73282932000074"})]


def test_every_rule_gives_the_same_verdict_on_both_paths():
    rng = random.Random(15)
    good = [valid_siret(rng) for _ in range(12)]
    # A SIRET whose own check digit passes but whose SIREN's does not.
    bad_siren = next(
        s
        for s in (luhn_complete(f"{rng.randrange(10**13):013d}") for _ in range(1000))
        if not stdnum_siret.is_valid(s)
    )
    la_poste_ok = next(
        f"356000000{n:05d}" for n in range(1, 999) if (14 + sum(map(int, f"{n:05d}"))) % 5 == 0
    )
    la_poste_bad = next(
        f"356000000{n:05d}" for n in range(1, 999) if (14 + sum(map(int, f"{n:05d}"))) % 5 == 1
    )
    nbsp, narrow, ideographic = "\u00a0", "\u202f", "\u3000"
    rows = [
        row(
            siret=good[0],
            siren=good[0][:9],
            nic=good[0][9:],
            typeVoieEtablissement="rue",
            libelleVoieEtablissement=" du  Port ",
            numeroVoieEtablissement=" 3 ",
            indiceRepetitionEtablissement="b",
            denominationUsuelleEtablissement=f"{nbsp}CAFE{narrow}",
        ),
        row(
            siret=f" {good[1]} ",
            complementAdresseEtablissement="BAT\\A\tPORTE 2",  # COPY's escapes
            etatAdministratifEtablissement=" f ",
            enseigne1Etablissement=f"{ideographic}ENSEIGNE",
            denominationUsuelleEtablissement=" ",
        ),
        row(siret=f"{good[2][:3]} {good[2][3:6]} {good[2][6:9]} {good[2][9:]}"),
        row(siret=f"{good[3][:3]}.{good[3][3:6]}.{good[3][6:9]}{nbsp}{good[3][9:]}"),
        row(siret="35600000000048", enseigne1Etablissement="LA POSTE SIEGE"),
        row(siret=la_poste_ok),
        row(siret=la_poste_bad),
        row(siret=bad_siren),
        row(siret="00000000000000"),
        row(siret="٧٣٢٨٢٩٣٢٠٠٠٠٧٤"),
        row(siret=good[4][:13]),
        row(siret=good[4], siren="123456789"),
        row(siret=good[4], nic=" 99999 "),
        row(siret=good[4], siren=f" {good[4][:9]} ", nic=good[4][9:]),
        row(siret=good[5], etatAdministratifEtablissement="C"),
        row(siret=good[5], etatAdministratifEtablissement=""),
        row(siret=good[5], dateDebut="2015-02-29"),  # not a leap year
        row(siret=good[5], dateDebut="1900-02-29"),
        row(siret=good[5], dateDebut="0000-01-01"),
        row(siret=good[5], dateDebut="2015-04-31"),
        row(siret=good[5], dateDebut="2015-13-01"),
        row(siret=good[5], dateDebut="31/12/2019"),
        row(siret=good[5], dateDebut="2015-3-01"),
        row(siret=good[5], dateDebut="2000-02-29"),  # a leap year: accepted
        row(siret=good[6], dateDebut="20160229"),  # what date.fromisoformat also accepts
        row(siret=good[7], dateDebut="  "),
        row(
            siret=good[8],
            dateDebut=" 2016-02-29 ",
            typeVoieEtablissement="XYZ",
            libelleVoieEtablissement="X" * 250,
            complementAdresseEtablissement="Y" * 250,
            codePostalEtablissement="750011",
            libelleCommuneEtablissement="Z" * 150,
            numeroVoieEtablissement="1234567890123",
            denominationUsuelleEtablissement="D" * 250,
        ),
        row(siret=good[8]),  # duplicate of the previous row
        row(siret=good[9], etatAdministratifEtablissement="X"),  # rejected first…
        row(siret=good[9]),  # …so this one is not a duplicate
        row(siret=good[9], dateDebut="bad"),  # a bad date before the duplicate check
        row(siret=good[10], libelleVoieEtablissement="LIGNE\nSUR DEUX"),  # shifts lines
        row(siret=good[11])[:20],  # too short
        row(siret="abc"),
        row(siret=""),
    ]
    rows_path, bulk_path = import_both([csv_text(rows)])
    assert rows_path == bulk_path
    report = bulk_path[0][0]
    assert report["read"] == len(rows)
    assert report["inserted"] == 13
    assert dict(report["rejected"])["SIRET en double dans le fichier"] == 1
    # Line numbers count the file's lines: the row with a line break in a cell takes lines
    # 33 and 34, so the short row after it is on line 35.
    assert report["examples"]["ligne mal formée (nombre de colonnes incorrect)"][0][0] == 35


def test_random_sirets_get_python_stdnums_verdict():
    rng = random.Random(1)
    sirets = []
    for _ in range(1500):
        sirets.append(valid_siret(rng))
        sirets.append(f"{rng.randrange(10**14):014d}")
        sirets.append(luhn_complete(f"{rng.randrange(10**13):013d}"))
        sirets.append(f"356000000{rng.randrange(10**5):05d}")
    text = csv_text([row(siret=s) for s in dict.fromkeys(sirets)])
    rows, bulk = import_both([text])
    assert rows == bulk
    stored = {values[COLUMNS.index("siret")] for values in bulk[1]}
    assert stored == {
        s for s in dict.fromkeys(sirets) if stdnum_siret.is_valid(s) and set(s) != {"0"}
    }


def test_an_import_refuses_to_run_beside_another():
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [registry_bulk._LOCK])
        with pytest.raises(RegistryImportError, match="Un autre import du registre est en cours"):
            registry_import(stream=io.StringIO(SAMPLE.read_text(encoding="utf-8")))
        with other.cursor() as cursor:
            # Released by hand: a closed session's backend lets its locks go a moment
            # after close() returns.
            cursor.execute("SELECT pg_advisory_unlock(%s)", [registry_bulk._LOCK])
    finally:
        other.close()
    assert not RegistryEstablishment.objects.exists()
    # Once the other import is over, this one runs.
    report = registry_import(stream=io.StringIO(SAMPLE.read_text(encoding="utf-8")))
    assert report.inserted == 39
    assert connection.vendor == "postgresql"
