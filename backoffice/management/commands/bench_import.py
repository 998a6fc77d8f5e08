"""``manage.py bench_import`` (``make bench-import``): time ``import_sirene`` on a big file.

Generates (once, then reuses) a StockEtablissement file of ``--rows`` rows in INSEE's
layout (``backoffice.benchmark.sirene_file``), empties the registry, then runs the real
command twice on it: the first run inserts every valid row, the second finds them all
unchanged and writes nothing. Prints each run's report, its wall time (the whole command,
the towns' rebuild included), rows per second and the machine's load average. It empties
the registry: never run it against production data (it refuses ``APP_ENV=production``).
"""

from __future__ import annotations

import io
import os
import resource
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from backoffice.benchmark import sirene_file
from establishments.models import RegistryEstablishment


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _server_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL process, when it runs on
    this machine (read from /proc): with the command's own, a figure the load of a shared
    machine does not change."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Command(BaseCommand):
    help = "Mesure import_sirene sur un fichier SIRENE généré (deux passages)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000, help="lignes du fichier")
        parser.add_argument("--file", default="", help="fichier à utiliser (généré s'il manque)")
        parser.add_argument(
            "--row-by-row", action="store_true", help="mesurer le chemin ligne à ligne"
        )
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Le bench vide le registre : jamais en production.")
        rows = options["rows"]
        if rows < 1:
            raise CommandError("--rows doit être positif.")
        path = Path(
            options["file"]
            or Path(settings.BASE_DIR) / "var" / "bench" / f"StockEtablissement_{rows}.csv"
        )
        out = self.stdout.write
        if not path.exists():
            out(f"Génération de {path} ({rows:,} lignes)…")
            started = time.monotonic()
            faults = sirene_file.generate(path, rows=rows)
            out(
                f"  {time.monotonic() - started:.1f} s ; lignes fautives : "
                + ", ".join(f"{kind} {count}" for kind, count in faults.most_common())
            )
        read = sum(1 for _ in path.open("rb")) - 1
        out(f"Base : {connection.vendor} ({connection.settings_dict['NAME']}), fichier : {path}")
        out(f"Lignes (hors en-tête) : {read:,} ; {os.cpu_count()} cœurs")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {RegistryEstablishment._meta.db_table}")
        else:
            RegistryEstablishment.objects.all().delete()
        arguments = [str(path), "--progress-every", "250000"]
        if options["row_by_row"]:
            arguments.append("--row-by-row")
        if options["batch_size"]:
            arguments += ["--batch-size", str(options["batch_size"])]
        results = []
        for label in ("1er passage (registre vide)", "2e passage (même fichier)"):
            before = _load()
            stdout, stderr = io.StringIO(), io.StringIO()
            own, server = _own_cpu(), _server_cpu()
            started = time.monotonic()
            call_command("import_sirene", *arguments, stdout=stdout, stderr=stderr)
            seconds = time.monotonic() - started
            own = _own_cpu() - own
            server_after = _server_cpu()
            out(f"\n{label} — charge avant : {before}, après : {_load()}")
            cpu = f"  CPU : commande {own:.1f} s"
            if server is not None and server_after is not None:
                cpu += f", PostgreSQL (sa connexion) {server_after - server:.1f} s"
            out(cpu)
            for line in stdout.getvalue().splitlines():
                if not line.startswith("  - "):  # the reasons' examples: long, and known
                    out(f"  {line}")
            results.append((label, seconds, before))
        out("\nRésultat (lignes lues par seconde, commande entière) :")
        for label, seconds, before in results:
            out(
                f"  {label:<30} {seconds:7.1f} s  {read / seconds:10,.0f} lignes/s  charge {before}"
            )
