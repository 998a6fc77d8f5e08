"""``make backup``: the database and the documents' storage into one folder (see
``backoffice.ops.backup``)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.ops.backup import BackupError, backup_create, default_folder


class Command(BaseCommand):
    help = "Sauvegarde la base de données et le stockage des documents (var/backups/<date>/)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="dossier de la sauvegarde (vide ou inexistant) ; défaut : var/backups/<date>/",
        )

    def handle(self, *args, output=None, **options):
        folder = Path(output) if output else default_folder()
        try:
            manifest = backup_create(folder=folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        figures = manifest["figures"]
        self.stdout.write(f"Sauvegarde écrite dans {folder}")
        for name, entry in manifest["files"].items():
            self.stdout.write(f"  {name} : {entry['bytes']} octets, sha256 {entry['sha256'][:16]}…")
        for alias, entry in manifest["storages"].items():
            if not entry["included"]:
                self.stdout.write(
                    f"  stockage {alias} : hors de ce serveur, non inclus (versionnage du bucket)"
                )
        self.stdout.write(
            f"  {figures['tickets']} tickets, {figures['outbox_jobs']} tâches sortantes, "
            f"{figures['users']} utilisateurs"
        )
