"""Backups and restores: the database and the documents' storage, in one folder.

``make backup`` (``manage.py backup``) writes ``var/backups/<date>/``:

* ``database.dump``: ``pg_dump`` in its custom format (compressed, restored with
  ``pg_restore``, one consistent snapshot while the system runs); with SQLite (``make run``)
  ``database.sqlite3``, SQLite's online backup;
* ``storage-<alias>.tar.gz``: every storage of ``STORAGES`` kept on this file system (the
  documents; static files are rebuilt by ``collectstatic``, not backed up); a storage
  elsewhere (a bucket) is listed as not included: it is backed up by its own versioning;
* ``manifest.json``: when, what, each file's SHA-256, the last migration of each app, and a
  few figures (tickets, outbox jobs, users) that a restore is checked against.

The database is dumped first, then the files: a document deleted in between is missing
from the archive (retention runs at 03:17: back up at another time).

``make restore BACKUP=…`` (``manage.py restore``) checks every checksum first, then
restores into the configured database (created when it does not exist) and storages. It
refuses to write over a database that has tables or a storage that has files, unless
``--force`` (``FORCE=1``: the database is cleaned first, the files are written over those
there, and files that are not in the backup are left alone). Restoring into newer code:
run ``manage.py migrate`` after.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from accounts.staff.models import User
from tickets.models import Ticket
from worker.models import OutboxJob

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
NOT_BACKED_UP_STORAGES = frozenset({"staticfiles"})


class BackupError(Exception):
    """What went wrong, in French, for the operator (the command prints it)."""


@dataclass(frozen=True)
class Restored:
    manifest: dict
    figures: dict[str, int]
    unapplied_migrations: int


# --- Helpers ------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _engine(db: dict) -> str:
    engine = db["ENGINE"]
    if engine == "django.db.backends.postgresql":
        return "postgresql"
    if engine == "django.db.backends.sqlite3":
        return "sqlite"
    raise BackupError(_("Moteur de base de données non pris en charge : %s") % engine)


def _pg_env(db: dict) -> dict[str, str]:
    """libpq's variables: the password never appears on a command line (``ps``)."""
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_connect(db: dict, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        connect_timeout=10,
        autocommit=True,
    )


def _run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(
            _("Commande introuvable : %s (paquet postgresql-client).") % command[0]
        ) from exc
    if completed.returncode != 0:
        raise BackupError(
            _("%(command)s a échoué (code %(code)s) : %(stderr)s")
            % {
                "command": command[0],
                "code": completed.returncode,
                "stderr": completed.stderr.strip()[-2000:],
            }
        )


def file_storages() -> dict[str, Path | None]:
    """Every storage but the static files: its folder here, or None when it is not on
    this file system."""
    found: dict[str, Path | None] = {}
    for alias in settings.STORAGES:
        if alias in NOT_BACKED_UP_STORAGES:
            continue
        storage = storages[alias]
        found[alias] = Path(storage.location) if isinstance(storage, FileSystemStorage) else None
    return found


# --- The database ---------------------------------------------------------------------------


def database_dump(db: dict, folder: Path) -> str:
    if _engine(db) == "postgresql":
        target = folder / PG_DUMP
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                str(target),
                "--dbname",
                str(db["NAME"]),
            ],
            env=_pg_env(db),
        )
        return PG_DUMP
    source = Path(str(db["NAME"]))
    if not source.is_file():
        raise BackupError(_("Base SQLite introuvable : %s") % source)
    target = folder / SQLITE_COPY
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # a consistent copy while the others keep writing
    return SQLITE_COPY


def _pg_has_tables(db: dict) -> bool | None:
    """None: the database does not exist."""
    with _pg_connect(db, "postgres") as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
    if not exists:
        return None
    with _pg_connect(db, str(db["NAME"])) as target:
        row = target.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    return bool(row and row[0])


def database_restore(db: dict, folder: Path, filename: str, *, force: bool) -> None:
    if _engine(db) == "postgresql":
        if filename != PG_DUMP:
            raise BackupError(_("Cette sauvegarde vient de SQLite : restaurez-la sous SQLite."))
        has_tables = _pg_has_tables(db)
        if has_tables is None:
            with _pg_connect(db, "postgres") as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
        elif has_tables and not force:
            raise BackupError(
                _(
                    "La base %s contient déjà des tables : restaurez dans une base neuve, "
                    "ou ajoutez --force (FORCE=1) pour l'écraser."
                )
                % db["NAME"]
            )
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        if has_tables:
            command += ["--clean", "--if-exists"]
        _run([*command, "--dbname", str(db["NAME"]), str(folder / filename)], env=_pg_env(db))
        return
    if filename != SQLITE_COPY:
        raise BackupError(_("Cette sauvegarde vient de PostgreSQL : restaurez-la sous PostgreSQL."))
    target = Path(str(db["NAME"]))
    if target.exists() and target.stat().st_size and not force:
        raise BackupError(
            _("La base %s existe déjà : ajoutez --force (FORCE=1) pour l'écraser.") % target
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a previous database's journal must not be replayed
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(folder / filename) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


# --- The storages ---------------------------------------------------------------------------


def storage_archive(root: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz") as tar:
        if root.is_dir():
            for child in sorted(root.iterdir()):
                tar.add(child, arcname=child.name)


def storage_extract(archive: Path, root: Path, *, force: bool) -> None:
    if root.is_dir() and any(root.iterdir()) and not force:
        raise BackupError(
            _("Le stockage %s contient déjà des fichiers : ajoutez --force (FORCE=1).") % root
        )
    root.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, "..", links out of the folder,
            # devices: an archive cannot write outside the storage.
            tar.extractall(root, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(
            _("Archive %(file)s refusée : %(error)s") % {"file": archive.name, "error": exc}
        ) from exc


# --- Figures a restore is checked against --------------------------------------------------


def figures(alias: str = "default") -> dict[str, int]:
    return {
        "tickets": Ticket.objects.using(alias).count(),
        "outbox_jobs": OutboxJob.objects.using(alias).count(),
        "users": User.objects.using(alias).count(),
    }


def _last_migrations(alias: str = "default") -> dict[str, str]:
    last: dict[str, str] = {}
    for app, name in (
        MigrationRecorder(connections[alias]).migration_qs.order_by("id").values_list("app", "name")
    ):
        last[app] = name
    return last


# --- The two commands ------------------------------------------------------------------------


def default_folder(now: datetime | None = None) -> Path:
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    return Path(settings.VAR_DIR) / "backups" / stamp


def backup_create(*, folder: Path) -> dict:
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(_("Le dossier %s n'est pas vide.") % folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = settings.DATABASES["default"]
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "engine": _engine(db),
        "figures": figures(),
        "migrations": _last_migrations(),
        "database": database_dump(db, folder),
        "storages": {},
        "files": {},
    }
    for alias, root in file_storages().items():
        if root is None:
            manifest["storages"][alias] = {"included": False}
            continue
        name = f"storage-{alias}.tar.gz"
        storage_archive(root, folder / name)
        manifest["storages"][alias] = {"included": True, "file": name}
    for path in sorted(folder.iterdir()):
        manifest["files"][path.name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def manifest_read(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(
            _("Pas de %(file)s dans %(folder)s.") % {"file": MANIFEST, "folder": folder}
        ) from exc
    except ValueError as exc:
        raise BackupError(_("%s illisible.") % MANIFEST) from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(_("Format de sauvegarde inconnu : %s") % manifest.get("format"))
    return manifest


def backup_verify(folder: Path, manifest: dict) -> None:
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise BackupError(_("Fichier manquant dans la sauvegarde : %s") % name)
        if _sha256(path) != expected["sha256"]:
            raise BackupError(_("Fichier altéré (empreinte SHA-256 différente) : %s") % name)


def backup_restore(*, folder: Path, force: bool) -> Restored:
    manifest = manifest_read(folder)
    backup_verify(folder, manifest)  # nothing is written before every file checks out
    targets = file_storages()
    for alias, entry in manifest["storages"].items():
        if entry.get("included") and targets.get(alias) is None:
            raise BackupError(
                _("Le stockage %s n'est pas un dossier ici : rien n'est restauré.") % alias
            )
    if not force:
        for alias, entry in manifest["storages"].items():
            root = targets.get(alias)
            if entry.get("included") and root is not None and root.is_dir() and any(root.iterdir()):
                raise BackupError(
                    _("Le stockage %s contient déjà des fichiers : ajoutez --force (FORCE=1).")
                    % root
                )
    db = settings.DATABASES["default"]
    connections.close_all()
    database_restore(db, folder, manifest["database"], force=force)
    for alias, entry in manifest["storages"].items():
        root = targets.get(alias)
        if entry.get("included") and root is not None:
            # With --force the files are written over the folder's; files that are not in
            # the backup are left where they are (never a recursive delete of a folder).
            storage_extract(folder / entry["file"], root, force=force)
    connections.close_all()
    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return Restored(manifest=manifest, figures=figures(), unapplied_migrations=len(plan))
