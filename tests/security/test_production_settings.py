"""Production settings: `check --deploy` is clean, cookies are locked down, and missing or
bad values stop the start instead of running half-configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "x9!Qe2@rT7#uY4$iO1%pA8^sD5&fG3*hJ6(kL0)zX-cV_bN+mQ=wE[rT]yU{iO}pA",
    "ALLOWED_HOSTS": "support.asp.example",
    "SITE_BASE_URL": "https://support.asp.example",
    "DATABASE_URL": "postgres://apsupport@127.0.0.1:5432/apsupport",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_HOST": "smtp.asp.example",
    "DJANGO_SETTINGS_MODULE": "backoffice.settings",
}


def run(args, env_overrides=None, tmp_path=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.pop("CACHE_URL", None)
    # Set by the browser tests' conftest for the live server; never set in production.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(PRODUCTION_ENV)
    env["VAR_DIR"] = str(tmp_path)
    env.update(env_overrides or {})
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_cookies_and_headers_are_locked_down_in_production(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'SESSION_COOKIE_SECURE','SESSION_COOKIE_HTTPONLY','SESSION_COOKIE_SAMESITE',"
        "'CSRF_COOKIE_SECURE','SECURE_SSL_REDIRECT','SECURE_HSTS_SECONDS','DEBUG',"
        "'SECURE_CONTENT_TYPE_NOSNIFF','X_FRAME_OPTIONS']}))"
    )
    result = run(["-c", script], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "DEBUG": False,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
    }


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "at least 50 characters"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"SITE_BASE_URL": "http://support.asp.example"}, "https://"),
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "PostgreSQL"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "Redis"),
        ({"CACHE_URL": "locmemcache://"}, "shared cache"),
        ({"EMAIL_HOST": ""}, "EMAIL_HOST"),
        ({"DEBUG": "true"}, "DEBUG cannot be on"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"EMAIL_MAX_ATTEMPTS": "three"}, "EMAIL_MAX_ATTEMPTS must be an integer"),
        ({"SLA_OPENING_HOURS": "9h-17h"}, "SLA_OPENING_HOURS"),
        ({"APP_ENV": "prod"}, "APP_ENV must be"),
    ],
)
def test_bad_or_missing_values_stop_the_start(tmp_path, overrides, message):
    result = run(["manage.py", "check"], overrides, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
