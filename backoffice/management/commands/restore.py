"""``make restore BACKUP=…``: a backup into the configured database (created if it does not
exist) and storages; refuses to overwrite without ``--force`` (see ``backoffice.ops.backup``)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backoffice.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde (make backup) dans la base configurée (DATABASE_URL), créée si "
        "elle n'existe pas, et dans le stockage des documents."
    )
    # The target database may not exist yet: no system check touches it first.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("folder", help="dossier de la sauvegarde (var/backups/<date>/)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="écraser une base qui a déjà des tables et écrire sur des fichiers existants",
        )

    def handle(self, *args, folder, force=False, **options):
        try:
            restored = backup_restore(folder=Path(folder), force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        expected = restored.manifest["figures"]
        self.stdout.write(f"Sauvegarde du {restored.manifest['created_at']} restaurée.")
        for name, count in restored.figures.items():
            verdict = "ok" if count == expected.get(name) else f"ATTENDU {expected.get(name)}"
            self.stdout.write(f"  {name} : {count} ({verdict})")
        if restored.figures != expected:
            raise CommandError("Les nombres restaurés diffèrent de ceux de la sauvegarde.")
        if restored.unapplied_migrations:
            self.stdout.write(
                f"  {restored.unapplied_migrations} migration(s) à appliquer : "
                "python manage.py migrate"
            )
