"""Real web servers for the log checks: gunicorn (with the project's gunicorn.conf.py, as
``make run`` and production start it) and runserver, each a process of its own on
127.0.0.1 and a free port, on a database of its own (a migrated SQLite file) that holds
working links whose raw tokens the test knows. Each writes its logs to files the test
reads back; the fixtures stop what they started."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.services import ROOT, free_port, wait_for

# Run in the server's database by ``manage.py shell``: an account with a working activation
# link and a working reset link, an open ticket with a working follow-up link, each with
# the raw token the test drew (only its hash is stored, as the worker does).
_MINT = """
import json, os
from datetime import timedelta
from django.utils import timezone
from accounts.extranet.links import token_digest
from accounts.extranet.models import LinkPurpose, RecoveryLink
from tests.factories import ExtranetAccountFactory, TicketFactory
from tickets.models import FollowUpLink

tokens = json.loads(os.environ["MINT_TOKENS"])
now = timezone.now()
account = ExtranetAccountFactory(holder_email="titulaire@exemple.fr")
for purpose, key in ((LinkPurpose.ACTIVATION, "activation"), (LinkPurpose.PASSWORD_RESET, "reset")):
    RecoveryLink.objects.create(
        account=account, purpose=purpose, created_at=now, sent_at=now,
        expires_at=now + timedelta(minutes=60), token_hash=token_digest(tokens[key]),
    )
ticket = TicketFactory()
FollowUpLink.objects.create(
    ticket=ticket, created_at=now, sent_at=now, token_hash=token_digest(tokens["followup"])
)
print("minted")
"""


@dataclass
class SecretPaths:
    """Working tokens (valid) and made-up ones (invalid), with the paths that carry them."""

    valid: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> list[str]:
        return [*self.valid.values(), *self.invalid.values()]

    def paths(self) -> list[str]:
        prefixes = {
            "activation": "/compte/activation/",
            "reset": "/compte/reinitialisation/",
            "followup": "/suivi/",
            "objection": "/opposition/",
        }
        found = [f"{prefixes[k]}{t}/" for k, t in self.valid.items()]
        found += [f"{prefixes[k]}{t}/" for k, t in self.invalid.items()]
        # A valid reset token tried on the wrong landing page, and a token in a query string.
        found.append(f"/compte/activation/{self.valid['reset']}/")
        found.append(f"/assistance/?jeton={self.valid['followup']}&siret=73282932000074")
        return found


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "APP_ENV": "test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_URL": "locmemcache://",
        "LOG_LEVEL": "DEBUG",
        **extra,
    }
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return env


def prepare_database(folder: Path) -> tuple[str, SecretPaths]:
    """A migrated SQLite database in ``folder`` holding working links; their tokens."""
    url = f"sqlite:///{folder / 'web.sqlite3'}"
    secrets_ = SecretPaths(
        valid={k: secrets.token_urlsafe(32) for k in ("activation", "reset", "followup")},
        invalid={
            k: secrets.token_urlsafe(32) for k in ("activation", "reset", "followup", "objection")
        },
    )
    env = server_env(url, MINT_TOKENS=json.dumps(secrets_.valid))
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    minted = subprocess.run(
        [*manage, "shell", "-c", _MINT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "minted" in minted.stdout, minted.stderr
    return url, secrets_


class WebServer:
    """``kind``: "gunicorn" (gunicorn.conf.py, access and error logs to files) or
    "runserver" (``manage.py runserver --noreload``, its output to a file)."""

    def __init__(self, kind: str, *, database_url: str, folder: Path):
        self.kind = kind
        self.port = free_port()
        self.folder = folder
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        self.access_log = folder / f"{kind}-access.log"
        self.error_log = folder / f"{kind}-error.log"
        # What the process writes to stdout/stderr: Django's own log lines (the console
        # handler), Celery's, runserver's.
        self.output_log = folder / f"{kind}-output.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = server_env(
            self.database_url,
            HOST="127.0.0.1",
            PORT=str(self.port),
            GUNICORN_ACCESS_LOG=str(self.access_log),
            GUNICORN_ERROR_LOG=str(self.error_log),
        )
        if self.kind == "gunicorn":
            command = [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--log-level", "debug"]
        else:
            command = [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                "--skip-checks",
                f"127.0.0.1:{self.port}",
            ]
        with self.output_log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        if not wait_for(lambda: self.get("/healthz")[0] == 200, timeout=60):
            self.stop()
            pytest.fail(f"{self.kind} did not answer on {self.url}:\n{self.logs()[-3000:]}")

    def get(self, path: str) -> tuple[int, str]:
        """GET without following redirects: (status, Location)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(f"{self.url}{path}", timeout=10) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", "")
        except OSError:
            return 0, ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # A server writes its access line once the answer has gone: before stopping
            # it, wait for the line of one last request.
            self.get("/healthz?fin=1")
            wait_for(lambda: "fin=" in self.logs(), timeout=10)
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def logs(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.access_log, self.error_log, self.output_log)
            if path.exists()
        )


@pytest.fixture
def web_database(tmp_path):
    return prepare_database(tmp_path)


@pytest.fixture
def start_web_server(tmp_path, web_database):
    """``start_web_server("gunicorn" | "runserver")`` → a running WebServer on the
    prepared database, stopped at the end of the test."""
    started: list[WebServer] = []
    database_url, _secrets = web_database

    def start(kind: str) -> WebServer:
        server = WebServer(kind, database_url=database_url, folder=tmp_path)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
