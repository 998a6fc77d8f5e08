"""Where documents are stored, read from the environment only: a private folder under
var/ by default, an S3-compatible bucket (django-storages, private objects) when
configured; anything else stops the start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps(s.STORAGES['documents'], default=str))"
)


def run(env_overrides: dict, tmp_path, pythonpath: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.pop("CACHE_URL", None)
    env.update({"DJANGO_SETTINGS_MODULE": "backoffice.settings", "VAR_DIR": str(tmp_path)})
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", SHOW], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_by_default_a_private_folder_under_var(tmp_path):
    result = run({}, tmp_path)
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert storage["OPTIONS"]["location"] == str(tmp_path / "documents")
    assert storage["OPTIONS"]["file_permissions_mode"] == 0o600
    assert storage["OPTIONS"]["directory_permissions_mode"] == 0o700


def test_s3_is_configured_by_the_environment_with_private_objects(tmp_path):
    # boto3 comes with the s3 extra (production only): a stand-in module is enough to
    # read the settings here.
    fake = tmp_path / "fake"
    (fake / "boto3").mkdir(parents=True)
    (fake / "boto3" / "__init__.py").write_text("")
    result = run(
        {
            "DOCUMENTS_STORAGE": "s3",
            "DOCUMENTS_S3_BUCKET": "asp-documents",
            "DOCUMENTS_S3_ENDPOINT_URL": "https://s3.example.fr",
            "DOCUMENTS_S3_ACCESS_KEY_ID": "key-id",
            "DOCUMENTS_S3_SECRET_ACCESS_KEY": "secret",
        },
        tmp_path,
        pythonpath=str(fake),
    )
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "asp-documents"
    assert options["endpoint_url"] == "https://s3.example.fr"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["file_overwrite"] is False


def test_s3_without_its_library_or_bucket_or_an_unknown_storage_stops_the_start(tmp_path):
    fake = tmp_path / "fake"
    (fake / "boto3").mkdir(parents=True)
    (fake / "boto3" / "__init__.py").write_text("")
    no_bucket = run({"DOCUMENTS_STORAGE": "s3"}, tmp_path, pythonpath=str(fake))
    assert no_bucket.returncode != 0
    assert "DOCUMENTS_S3_BUCKET" in no_bucket.stderr
    unknown = run({"DOCUMENTS_STORAGE": "ftp"}, tmp_path)
    assert unknown.returncode != 0
    assert "filesystem or s3" in unknown.stderr
    try:
        import boto3  # noqa: F401
    except ImportError:
        missing = run({"DOCUMENTS_STORAGE": "s3", "DOCUMENTS_S3_BUCKET": "b"}, tmp_path)
        assert missing.returncode != 0
        assert "needs boto3" in missing.stderr
