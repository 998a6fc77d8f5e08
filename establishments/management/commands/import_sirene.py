"""``manage.py import_sirene FILE``: load INSEE's StockEtablissement into the registry.

FILE is the CSV as INSEE publishes it (``StockEtablissement_utf8.csv``), or its ``.zip``, or
a ``.gz``. On PostgreSQL the rows are checked and upserted set-based (COPY into a temporary
table, ``establishments.registry_bulk``); on SQLite, or with ``--row-by-row``, one by one
in Python; both give the same report and the same rows. Progress goes to stderr every
``--progress-every`` rows; the report (rows read, inserted, updated, unchanged, rejected
with reasons and line numbers) goes to stdout. A file that cannot be
imported at all (missing, unreadable, missing columns) stops the command with a French
message and a non-zero exit status.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from establishments.exceptions import RegistryImportError
from establishments.services import (
    RegistryImportReport,
    registry_import,
    sirene_file_open,
)
from establishments.towns import postal_code_towns_rebuild


def _n(value: int) -> str:
    # French thousands separator (narrow no-break space would not survive every terminal).
    return f"{value:,}".replace(",", " ")


class Command(BaseCommand):
    help = (
        "Importe le fichier StockEtablissement de la base SIRENE (INSEE) dans le registre "
        "de référence des établissements (.csv, .zip ou .gz)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="StockEtablissement_utf8.csv (ou .zip, .gz)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=(
                "lignes lues par transaction (par défaut 100 000 sur PostgreSQL, "
                "5 000 ligne à ligne)"
            ),
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=100_000,
            help="afficher l'avancement toutes les N lignes (sur la sortie d'erreur)",
        )
        parser.add_argument(
            "--require-denomination",
            action="store_true",
            help=(
                "rejeter les établissements sans dénomination usuelle ni enseigne "
                "(par défaut ils sont importés avec une dénomination vide)"
            ),
        )
        parser.add_argument(
            "--row-by-row",
            action="store_true",
            help=(
                "contrôler les lignes une à une en Python plutôt qu'en SQL (le chemin "
                "de SQLite ; sur PostgreSQL, pour comparer)"
            ),
        )

    def handle(self, *args, **options):
        batch_size = options["batch_size"]
        if (batch_size is not None and batch_size < 1) or options["progress_every"] < 1:
            raise CommandError("--batch-size et --progress-every doivent être positifs.")
        try:
            with sirene_file_open(options["file"]) as stream:
                report = registry_import(
                    stream=stream,
                    batch_size=batch_size,
                    require_denomination=options["require_denomination"],
                    progress=self._progress,
                    progress_every=options["progress_every"],
                    bulk=False if options["row_by_row"] else None,
                )
        except RegistryImportError as exc:
            raise CommandError(str(exc)) from exc
        self._report(report)
        added = postal_code_towns_rebuild()
        self.stdout.write(f"Communes ajoutées aux codes postaux : {_n(added)}")

    def _progress(self, report: RegistryImportReport) -> None:
        rate = report.read / report.seconds if report.seconds > 0 else 0
        self.stderr.write(
            f"  {_n(report.read)} lignes lues, {_n(report.rejected_total)} rejetées "
            f"— {_n(int(rate))} lignes/s"
        )

    def _report(self, report: RegistryImportReport) -> None:
        out = self.stdout.write
        out(f"Lignes lues             : {_n(report.read)}")
        out(f"Insérées                : {_n(report.inserted)}")
        out(f"Mises à jour            : {_n(report.updated)}")
        out(f"Inchangées              : {_n(report.unchanged)}")
        out(f"Rejetées                : {_n(report.rejected_total)}")
        for reason, count in report.rejected.most_common():
            examples = ", ".join(
                f"ligne {line}" + (f" ({value})" if value else "")
                for line, value in report.examples.get(reason, [])
            )
            out(f"  - {reason} : {_n(count)} — {examples}")
        out(f"Établissements connus dont l'état a changé : {_n(report.establishments_updated)}")
        out(f"Durée : {report.seconds:.1f} s")
