"""The backup/restore drill: a seeded database (the demo data) and a document are backed
up with ``manage.py backup`` (what ``make backup`` runs), restored with ``manage.py
restore`` into a new database and storage, and the smoke subset (restored_smoke.py) runs
against the restored copy in a pytest process of its own. PostgreSQL in the second CI
pass; SQLite (``make run``'s database) in the first. And what a restore refuses."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from backoffice.ops import backup
from tests.support import services
from tests.support.services import ROOT

DOCUMENT = b"Extrait Kbis de la boulangerie.\n"
# What the commands must not inherit from this test process.
DROPPED = ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "CACHE_URL", "CELERY_BROKER_URL",
           "REQUIRE_SERVICES", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")  # fmt: skip


def _env(**values) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {**env, "APP_ENV": "development", **values}


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def smoke(*, env, manifest: Path, database_name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/ops/restored_smoke.py",
            "-q",
            "--ds",
            "backoffice.settings_test",
            "-p",
            "no:randomly",
        ],  # fmt: skip
        cwd=ROOT,
        env={
            **env,
            "RESTORE_DRILL_MANIFEST": str(manifest),
            "RESTORE_DRILL_DATABASE_NAME": database_name,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


def put_document(media: Path) -> None:
    (media / "drill").mkdir(parents=True)
    (media / "drill" / "preuve.txt").write_bytes(DOCUMENT)


def drill(*, source_env: dict, target_env: dict, target_name: str, folder: Path) -> None:
    done = manage("backup", "--output", str(folder), env=source_env)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    assert manifest["storages"]["default"] == {"included": True, "file": "storage-default.tar.gz"}

    done = manage("restore", str(folder), env=target_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"tickets : {manifest['figures']['tickets']} (ok)" in done.stdout
    # A second restore would write over what is there: refused without --force.
    again = manage("restore", str(folder), env=target_env)
    assert again.returncode != 0
    assert "--force" in again.stderr

    checked = smoke(env=target_env, manifest=folder / backup.MANIFEST, database_name=target_name)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert "6 passed" in checked.stdout, checked.stdout[-2000:]


def test_the_drill_on_sqlite(tmp_path):
    source, target = tmp_path / "source.sqlite3", tmp_path / "restored.sqlite3"
    source_env = _env(
        DATABASE_URL=f"sqlite:///{source}",
        MEDIA_ROOT=str(tmp_path / "media"),
        DOCUMENTS_DIR=str(tmp_path / "documents"),
    )
    for command in (("migrate", "--no-input"), ("seed_demo",)):
        done = manage(*command, env=source_env)
        assert done.returncode == 0, done.stderr
    put_document(tmp_path / "media")
    drill(
        source_env=source_env,
        target_env=_env(
            DATABASE_URL=f"sqlite:///{target}",
            MEDIA_ROOT=str(tmp_path / "restored"),
            DOCUMENTS_DIR=str(tmp_path / "restored-documents"),
        ),
        target_name=str(target),
        folder=tmp_path / "backup",
    )


def _admin(settings_dict) -> psycopg.Connection:
    return psycopg.connect(
        dbname="postgres",
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"] or "postgres",
        password=settings_dict["PASSWORD"] or None,
        autocommit=True,
    )


def _drop(settings_dict, name: str) -> None:
    with _admin(settings_dict) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_drill_on_postgresql(tmp_path):
    # The seeded database is this test's own (committed: a transactional test).
    call_command("seed_demo", stdout=io.StringIO())
    put_document(tmp_path / "media")
    settings_dict = connection.settings_dict
    target = f"{settings_dict['NAME']}_restored"
    _drop(settings_dict, target)
    source_url = services.test_database_url()
    target_url = source_url.rsplit("/", 1)[0] + f"/{target}"
    try:
        drill(
            source_env=_env(
                DATABASE_URL=source_url,
                MEDIA_ROOT=str(tmp_path / "media"),
                DOCUMENTS_DIR=str(tmp_path / "documents"),
            ),
            target_env=_env(
                DATABASE_URL=target_url,
                MEDIA_ROOT=str(tmp_path / "restored"),
                DOCUMENTS_DIR=str(tmp_path / "restored-documents"),
            ),
            target_name=target,
            folder=tmp_path / "backup",
        )
    finally:
        _drop(settings_dict, target)


# --- What a restore refuses ------------------------------------------------------------------


def _sqlite_with_rows(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (n INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])


def test_an_altered_file_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    folder = tmp_path / "backup"
    folder.mkdir()
    _sqlite_with_rows(folder / backup.SQLITE_COPY, 3)
    manifest = {
        "format": backup.FORMAT_VERSION,
        "database": backup.SQLITE_COPY,
        "storages": {},
        "figures": {},
        "files": {backup.SQLITE_COPY: {"sha256": "0" * 64, "bytes": 1}},
    }
    (folder / backup.MANIFEST).write_text(json.dumps(manifest))
    written = []
    monkeypatch.setattr(backup, "database_restore", lambda *a, **k: written.append(a))
    monkeypatch.setattr(backup, "storage_extract", lambda *a, **k: written.append(a))
    with pytest.raises(backup.BackupError, match="altéré"):
        backup.backup_restore(folder=folder, force=False)
    assert written == []


def test_a_database_with_data_is_not_overwritten_without_force(tmp_path):
    src_folder = tmp_path / "backup"
    src_folder.mkdir()
    _sqlite_with_rows(tmp_path / "source.sqlite3", 5)
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "source.sqlite3")}
    assert backup.database_dump(db, src_folder) == backup.SQLITE_COPY
    target = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "target.sqlite3")}
    _sqlite_with_rows(tmp_path / "target.sqlite3", 1)
    with pytest.raises(backup.BackupError, match="--force"):
        backup.database_restore(target, src_folder, backup.SQLITE_COPY, force=False)
    with sqlite3.connect(target["NAME"]) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (1,)
    backup.database_restore(target, src_folder, backup.SQLITE_COPY, force=True)
    with sqlite3.connect(target["NAME"]) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (5,)


def test_an_archive_cannot_write_outside_the_storage(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"owned"
        member = tarfile.TarInfo("../outside.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    root = tmp_path / "storage"
    with pytest.raises(backup.BackupError, match="refusée"):
        backup.storage_extract(archive, root, force=False)
    assert not (tmp_path / "outside.txt").exists()


def test_documents_come_back_as_they_were(tmp_path):
    put_document(tmp_path / "media")
    backup.storage_archive(tmp_path / "media", tmp_path / "docs.tar.gz")
    backup.storage_extract(tmp_path / "docs.tar.gz", tmp_path / "back", force=False)
    assert (tmp_path / "back" / "drill" / "preuve.txt").read_bytes() == DOCUMENT
    with pytest.raises(backup.BackupError, match="--force"):
        backup.storage_extract(tmp_path / "docs.tar.gz", tmp_path / "back", force=False)


def test_backing_up_into_a_folder_that_has_files_is_refused(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(backup.BackupError, match="pas vide"):
        backup.backup_create(folder=tmp_path)
