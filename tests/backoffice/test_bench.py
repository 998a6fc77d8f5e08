"""The bench harness, end to end on a tiny data set (the real run is `make bench`)."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command

from backoffice.benchmark import seed as bench_seed
from backoffice.benchmark.scenarios import SCENARIOS
from tickets.models import OPEN_STATUSES, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_bench_seeds_measures_and_prints_the_table(tmp_path):
    out = io.StringIO()
    report = tmp_path / "bench.json"
    call_command("bench", "--n", "400", "--runs", "2", "--warmup", "1", "--json", str(report),
                 stdout=out)  # fmt: skip
    text = out.getvalue()
    bench = Ticket.objects.filter(reference__startswith=bench_seed.REFERENCE_PREFIX)
    assert bench.count() == 400
    assert TicketEvent.objects.filter(ticket__in=bench).exists()
    # Distributions: mostly closed, several queues, some unassigned, repeated SIRETs.
    assert bench.filter(status="clos").count() > 200
    assert bench.values("queue").distinct().count() >= 4
    assert bench.values("siret").distinct().count() < 400
    assert bench.exclude(status__in=OPEN_STATUSES).filter(assignee__isnull=False).exists()
    for scenario in SCENARIOS:
        assert scenario.label in text
    results = json.loads(report.read_text())["results"]
    assert {r["name"] for r in results} == {s.name for s in SCENARIOS}
    assert all(r["median_ms"] > 0 and r["queries"] >= 1 for r in results)
    # Every page is held to 25 ms (or its own, stricter, target); intake to its statements
    # and CPU; the yardstick says how fast the machine was.
    pages = [r for r in results if r["label"].startswith("Page :")]
    assert len(pages) >= 10 and all(r["targeted"] and r["target_ms"] <= 25 for r in pages)
    others = [r for r in results if not r["label"].startswith("Page :")]
    assert all(r["target_ms"] is None or r["target_ms"] > 25 for r in others)
    assert re.search(
        r"Dépôt : \d+ requêtes SQL et [\d.]+ ms de CPU par demande .*: (ok|HORS CIBLE)", text
    )
    assert re.search(r"Étalon CPU .* : \d+ ms avant les mesures, \d+ ms après", text)

    # Same N again: the rows are reused, not seeded twice.
    out = io.StringIO()
    call_command("bench", "--n", "400", "--no-measure", stdout=out)
    assert "réutilisés" in out.getvalue()
    # Another N replaces them.
    call_command("bench", "--n", "150", "--no-measure", stdout=io.StringIO())
    assert bench.count() == 150


def test_bench_refuses_unknown_scenarios():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Scénarios inconnus"):
        call_command("bench", "--n", "10", "--scenarios", "nope", stdout=io.StringIO())
