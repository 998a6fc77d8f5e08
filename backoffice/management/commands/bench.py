"""``manage.py bench`` (``make bench``): seed N tickets, then measure the scenarios.

Writes bench rows into the configured database (see ``backoffice.benchmark.seed``): never
run it against production data; it refuses to run with ``APP_ENV=production``.
"""

from __future__ import annotations

import json
import logging
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backoffice.benchmark import reassignments, runner, seed
from backoffice.benchmark.scenarios import SCENARIOS


def _load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "inconnue"


class Command(BaseCommand):
    help = "Remplit la base avec N tickets réalistes et mesure les temps de réponse."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=100_000, help="nombre de tickets")
        parser.add_argument("--runs", type=int, default=30, help="mesures par scénario")
        parser.add_argument(
            "--reassignments",
            type=int,
            default=None,
            help="nombre de réattributions de comptes (cas 2.1 ; défaut : N/20, au plus 50 000)",
        )
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--reseed", action="store_true", help="recréer les tickets de bench")
        parser.add_argument("--no-measure", action="store_true", help="remplir seulement")
        parser.add_argument(
            "--scenarios", default="", help="noms séparés par des virgules (défaut : tous)"
        )
        parser.add_argument("--list", action="store_true", help="lister les scénarios")
        parser.add_argument("--json", default="", help="écrire aussi les mesures dans ce fichier")

    def handle(self, *args, **options):
        if options["list"]:
            for s in SCENARIOS:
                self.stdout.write(f"{s.name:<28} {s.label}")
            return
        if settings.PRODUCTION:
            raise CommandError("Le bench écrit des données de test : jamais en production.")
        if options["n"] < 1 or options["runs"] < 1:
            raise CommandError("--n et --runs doivent être positifs.")
        names = [n.strip() for n in options["scenarios"].split(",") if n.strip()]
        unknown = set(names) - {s.name for s in SCENARIOS}
        if unknown:
            raise CommandError(f"Scénarios inconnus : {', '.join(sorted(unknown))}")
        # Measure as production runs: no per-query logging, no debug pages; and keep the
        # output to the table (every intake request logs a line at INFO).
        debug, level = settings.DEBUG, logging.getLogger().level
        settings.DEBUG = False
        logging.getLogger().setLevel(logging.WARNING)
        try:
            self._run(options, names)
        finally:
            settings.DEBUG = debug
            logging.getLogger().setLevel(level)

    def _run(self, options, names):
        from django.db import connection

        vendor = connection.vendor
        self.stdout.write(f"Base : {vendor} ({connection.settings_dict['NAME']})")
        result = seed.seed(n=options["n"], reseed=options["reseed"], log=self.stdout.write)
        if result.reused:
            self.stdout.write(f"{result.tickets} tickets de bench déjà en place : réutilisés.")
        else:
            rate = result.tickets / result.seconds if result.seconds else 0
            self.stdout.write(
                f"Rempli : {result.tickets} tickets, {result.events} événements, "
                f"{result.messages} messages, {result.registry} établissements au registre "
                f"en {result.seconds:.1f} s ({rate:,.0f} tickets/s), puis ANALYZE."
            )
        count, reused = reassignments.seed_reassignments(
            count=options["reassignments"] or reassignments.default_count(options["n"]),
            log=self.stdout.write,
        )
        if reused:
            self.stdout.write(f"{count} réattributions de bench déjà en place : réutilisées.")
        if options["no_measure"]:
            return
        ctx = runner.context_build(agent=result.agent, supervisor=result.supervisor)
        self.stdout.write(
            f"Mesures : {options['runs']} par scénario (+{options['warmup']} d'échauffement)…"
        )
        before = runner.cpu_yardstick_ms()
        results = runner.measure(
            ctx, runs=options["runs"], warmup=options["warmup"], names=names,
            log=self.stdout.write,
        )  # fmt: skip
        after = runner.cpu_yardstick_ms()
        self.stdout.write("")
        self.stdout.write(f"{result.tickets} tickets, {vendor}")
        self.stdout.write(runner.table(results))
        self.stdout.write(
            f"Étalon CPU (boucle Python fixe, meilleur de 3) : {before:.0f} ms avant les "
            f"mesures, {after:.0f} ms après ; charge moyenne {_load_average()}. D'une heure à "
            "l'autre, l'étalon d'une même machine virtuelle varie : comparez deux passages "
            "avec leurs étalons."
        )
        if options["json"]:
            with open(options["json"], "w", encoding="utf-8") as fh:
                json.dump(
                    {
                        "vendor": vendor,
                        "tickets": result.tickets,
                        "results": [r.__dict__ for r in results],
                    },
                    fh,
                    indent=2,
                )
