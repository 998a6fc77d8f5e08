"""A StockEtablissement file for the import bench, in INSEE's exact layout.

The header is the one of ``establishments/fixtures/sirene_sample.csv`` (INSEE's, 53
columns); rows come in SIREN order as in INSEE's file, several establishments per SIREN,
with INSEE's street-type and repetition codes, mostly empty dénominations (as in the real
stock), about 60 % closed establishments, La Poste's establishments (valid by their own
digit-sum rule) at the end, and a realistic share of bad rows (about 1 %, see ``_FAULTS``):
wrong check digits, SIREN or NIC not matching the SIRET, unknown administrative status,
impossible dates, truncated lines, SIRETs typed with spaces, repeated SIRETs. The same
``rows`` and ``seed`` always give the same file.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

from django.conf import settings

SAMPLE = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"

# Share of each kind of bad row (the rest are good rows).
_FAULTS = {
    "checksum": 0.003,  # a SIRET whose check digit is wrong
    "mismatch": 0.001,  # the siren column does not match the SIRET
    "status": 0.001,  # etatAdministratifEtablissement neither A nor F
    "date": 0.001,  # dateDebut not a real day (2019-02-30) or not AAAA-MM-JJ
    "truncated": 0.001,  # a line cut short (wrong number of columns)
    "spaced": 0.0005,  # a SIRET written with spaces: valid once cleaned
    "duplicate": 0.0005,  # the previous row's SIRET again
}

_STREET_TYPES = ["RUE", "AV", "BD", "CHE", "PL", "RTE", "ALL", "IMP", "QUAI", "LD", "CRS", "", ""]
_STREETS = [
    "DE LA REPUBLIQUE", "DU GENERAL DE GAULLE", "JEAN JAURES", "VICTOR HUGO", "DE LA GARE",
    "DES ECOLES", "PASTEUR", "DU MOULIN", "DE L EGLISE", "DES LILAS", "DU STADE", "NATIONALE",
]  # fmt: skip
_TOWNS = [
    ("75011", "PARIS"), ("69007", "LYON"), ("13008", "MARSEILLE"), ("33000", "BORDEAUX"),
    ("59000", "LILLE"), ("31000", "TOULOUSE"), ("44000", "NANTES"), ("67000", "STRASBOURG"),
    ("35000", "RENNES"), ("97400", "SAINT-DENIS"), ("06000", "NICE"), ("21000", "DIJON"),
]  # fmt: skip
_NAMES = ["BOULANGERIE", "GARAGE", "PHARMACIE", "CAFE", "COIFFURE", "TRANSPORTS", "HOTEL"]
_APE = ["10.71C", "45.20A", "47.73Z", "56.30Z", "96.02A", "49.41A", "55.10Z", "62.01Z"]
_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _check_digit(payload: str) -> str:
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        total += _DOUBLE[digit] if position % 2 == 0 else digit
    return str(-total % 10)


def _establishments(rng: random.Random, rows: int):
    """(siren, nic, siret) in SIREN order, Luhn-valid; La Poste's last."""
    base = 30_000_000
    made = 0
    la_poste = max(1, rows // 2000)
    while made < rows - la_poste:
        base += rng.randint(1, 8)
        siren = f"{base:08d}" + _check_digit(f"{base:08d}")
        for number in range(1, min(rng.choice((1, 1, 1, 2, 2, 3, 5)), rows - la_poste - made) + 1):
            head = f"{siren}{number:04d}"
            yield siren, head[9:] + _check_digit(head), head + _check_digit(head)
            made += 1
    number = 0
    while made < rows:
        number += 1
        nic = f"{number:05d}"
        if (14 + sum(map(int, nic))) % 5 == 0 and nic != "00048":
            yield "356000000", nic, "356000000" + nic
            made += 1


def generate(path: Path, *, rows: int, seed: int = 15) -> Counter:
    """Write the file; return how many bad rows of each kind it holds."""
    rng = random.Random(seed)
    with SAMPLE.open(encoding="utf-8") as sample:
        header = next(csv.reader(sample))
    at = {name: i for i, name in enumerate(header)}
    width = len(header)
    faults: Counter = Counter()
    kinds = list(_FAULTS)
    weights = [_FAULTS[k] for k in kinds]
    fault_share = sum(weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous_siret = ""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for siren, nic, siret in _establishments(rng, rows):
            row = [""] * width
            closed = rng.random() < 0.6
            year = rng.randint(1973, 2025)
            day = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            postal_code, town = rng.choice(_TOWNS)
            row[at["siren"]] = siren
            row[at["nic"]] = nic
            row[at["siret"]] = siret
            row[at["statutDiffusionEtablissement"]] = "O"
            row[at["dateCreationEtablissement"]] = day
            row[at["dateDernierTraitementEtablissement"]] = "2025-11-30T03:12:45"
            row[at["etablissementSiege"]] = "true" if nic.endswith("1") else "false"
            row[at["nombrePeriodesEtablissement"]] = str(rng.randint(1, 4))
            if rng.random() < 0.15:
                row[at["complementAdresseEtablissement"]] = "ZONE ARTISANALE"
            if rng.random() < 0.8:
                row[at["numeroVoieEtablissement"]] = str(rng.randint(1, 250))
            if rng.random() < 0.05:
                row[at["indiceRepetitionEtablissement"]] = rng.choice("BTQC")
            row[at["typeVoieEtablissement"]] = rng.choice(_STREET_TYPES)
            row[at["libelleVoieEtablissement"]] = rng.choice(_STREETS)
            row[at["codePostalEtablissement"]] = postal_code
            row[at["libelleCommuneEtablissement"]] = town
            row[at["codeCommuneEtablissement"]] = postal_code
            row[at["dateDebut"]] = day
            row[at["etatAdministratifEtablissement"]] = "F" if closed else "A"
            if rng.random() < 0.1:
                row[at["enseigne1Etablissement"]] = f"{rng.choice(_NAMES)} {town}"
            if rng.random() < 0.05:
                row[at["denominationUsuelleEtablissement"]] = f"{rng.choice(_NAMES)} {siren[-4:]}"
            row[at["activitePrincipaleEtablissement"]] = rng.choice(_APE)
            row[at["nomenclatureActivitePrincipaleEtablissement"]] = "NAFRev2"
            row[at["caractereEmployeurEtablissement"]] = "N" if closed else "O"
            if rng.random() < fault_share:
                kind = rng.choices(kinds, weights)[0]
                if kind == "duplicate" and not previous_siret:
                    kind = "checksum"
                faults[kind] += 1
                if kind == "checksum":
                    row[at["siret"]] = siret[:13] + str((int(siret[13]) + 1) % 10)
                elif kind == "mismatch":
                    row[at["siren"]] = str(int(siren) + 1).zfill(9)
                elif kind == "status":
                    row[at["etatAdministratifEtablissement"]] = rng.choice(("X", "", "C"))
                elif kind == "date":
                    row[at["dateDebut"]] = rng.choice((f"{year}-02-30", f"31/12/{year}"))
                elif kind == "truncated":
                    row = row[: rng.randint(5, width - 5)]
                elif kind == "spaced":
                    row[at["siret"]] = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
                elif kind == "duplicate":
                    row[at["siret"]] = previous_siret
                    row[at["siren"]] = previous_siret[:9]
                    row[at["nic"]] = previous_siret[9:]
            previous_siret = siret
            writer.writerow(row)
    return faults
