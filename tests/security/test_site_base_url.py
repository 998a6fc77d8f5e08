"""`make run PORT=…` e-mails links to that port: the Makefile derives SITE_BASE_URL from
HOST and PORT unless it is given, and the settings do the same for a process started with
HOST/PORT alone (the Procfile's web process). That e-mails build their links from
SITE_BASE_URL and never from the Host header is tested in tests/accounts/test_recovery_links.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_run_dry(**variables) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"SITE_BASE_URL", "HOST", "PORT"}}
    args = [
        "make",
        "-n",
        "--no-print-directory",
        "run",
        *(f"{k}={v}" for k, v in variables.items()),
    ]
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


def settings_site_base_url(**env_vars) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"SITE_BASE_URL", "HOST", "PORT"}}
    env.update({"APP_ENV": "development", "DJANGO_SETTINGS_MODULE": "backoffice.settings"})
    env.update(env_vars)
    code = (
        "import django; django.setup(); "
        "from django.conf import settings; print(settings.SITE_BASE_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    "variables, expected",
    [
        ({"PORT": "41234"}, "http://127.0.0.1:41234"),
        ({}, "http://127.0.0.1:8000"),
        ({"HOST": "0.0.0.0", "PORT": "41235"}, "http://127.0.0.1:41235"),
        ({"HOST": "localhost", "PORT": "41236"}, "http://localhost:41236"),
        ({"PORT": "41237", "SITE_BASE_URL": "https://demo.example"}, "https://demo.example"),
    ],
)
def test_make_run_passes_the_derived_site_base_url_to_the_seed_and_the_processes(
    variables, expected
):
    commands = make_run_dry(**variables)
    seed = next(line for line in commands.splitlines() if "seed_demo" in line)
    assert seed.startswith(f"SITE_BASE_URL={expected} ")
    assert f"SITE_BASE_URL={expected} " in commands.split("honcho")[0].split("seed_demo")[1]


def test_the_settings_derive_it_from_host_and_port_when_it_is_not_set():
    assert settings_site_base_url(PORT="41238") == "http://127.0.0.1:41238"
    assert settings_site_base_url(HOST="0.0.0.0", PORT="41239") == "http://127.0.0.1:41239"
    assert settings_site_base_url() == "http://127.0.0.1:8000"
    given = settings_site_base_url(PORT="41240", SITE_BASE_URL="https://demo.example/")
    assert given == "https://demo.example"
