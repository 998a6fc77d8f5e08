"""manage.py bench_import (make bench-import) on a small generated file."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from stdnum.fr import siret as stdnum_siret

from backoffice.benchmark import sirene_file
from establishments.models import RegistryEstablishment

pytestmark = pytest.mark.django_db


def test_the_generated_file_has_inseess_layout_and_its_share_of_bad_rows(tmp_path):
    path = tmp_path / "stock.csv"
    faults = sirene_file.generate(path, rows=5000)
    with path.open(encoding="utf-8") as text, sirene_file.SAMPLE.open(encoding="utf-8") as sample:
        rows = list(csv.reader(text))
        assert rows[0] == next(csv.reader(sample))
    assert len(rows) == 5001
    bad = sum(faults.values())
    assert 10 <= bad <= 100  # about 0.8 %
    truncated = [r for r in rows[1:] if len(r) != len(rows[0])]
    assert len(truncated) == faults["truncated"]
    at = rows[0].index("siret")
    invalid = [r for r in rows[1:] if len(r) == len(rows[0]) and not stdnum_siret.is_valid(r[at])]
    assert len(invalid) == faults["checksum"]
    assert any(r[at].startswith("356000000") for r in rows[1:])  # La Poste
    assert sirene_file.generate(tmp_path / "again.csv", rows=5000) == faults
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_it_times_two_runs_the_second_writing_nothing(tmp_path):
    out = io.StringIO()
    path = tmp_path / "stock.csv"
    call_command("bench_import", "--rows", "1500", "--file", str(path), stdout=out)
    text = out.getvalue()
    valid = RegistryEstablishment.objects.count()
    assert 1450 < valid < 1500
    assert f"Insérées                : {valid:,}".replace(",", " ") in text
    assert f"Inchangées              : {valid:,}".replace(",", " ") in text
    assert text.count("lignes/s") == 2 and "charge" in text and "CPU : commande" in text


@override_settings(PRODUCTION=True)
def test_it_refuses_production():
    with pytest.raises(CommandError, match="jamais en production"):
        call_command("bench_import", "--rows", "10", stdout=io.StringIO())
