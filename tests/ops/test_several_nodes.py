"""Several nodes on one PostgreSQL and one Redis stay correct (issue 15; README
"Production"). Two gunicorn instances, two Celery workers and two beats (one started by
mistake) run as separate processes on 127.0.0.1, against the test database and the second
CI pass's Redis, with a real SMTP sink:

- a session opened on one node works on the other;
- intake spread over both nodes: every acknowledgement goes out exactly once;
- take-next from both nodes at once hands out distinct tickets;
- requests the broker never got are handed over by the sweeps of both beats exactly once;
- a node killed (SIGKILL, its whole process group) in the middle of requests loses
  nothing: every ticket it committed is whole and acknowledged once; the others never
  existed; the other node keeps serving the same session.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.staff.services import api_key_create
from bench.auth import login_cookie
from tests.factories import UserFactory
from tests.support import services as support
from tests.support.services import free_port, publishing_to, wait_for
from tickets.models import EventKind, MessageKind, Queue, Ticket
from worker.models import EmailStatus, OutboundEmail
from worker.services import email_queue

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Mot-de-passe-de-test-2026"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TICKET_URL = re.compile(r"/backoffice/tickets/(\d+)/$")


def _node_env(smtp_port: int, extra: dict | None = None) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "APP_ENV": "test",
        "DEBUG": "false",
        "DATABASE_URL": support.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_URL": os.environ.get("CACHE_URL", ""),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra or {}),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, tmp: Path):
        self.name = name
        self.log = tmp / f"{name}.log"
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL to the whole group (gunicorn's master and its workers), as when the
        machine dies."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


def _get(url: str, cookie: str = "") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, url, exc.read().decode()


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post(url: str, data: bytes, headers: dict) -> tuple[int, str]:
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "") or exc.read().decode()


def _intake(base: str, api_key: str, email: str) -> tuple[int, str]:
    body = json.dumps({
        "siret": "73282932000074", "denomination": "Boulangerie du Marché",
        "requester_name": "Claire Dupont", "phone": "01 02 03 04 05", "email": email,
        "motif": "habilitation_extranet", "description": "Je n'ai plus accès au compte.",
    }).encode()  # fmt: skip
    return _post(
        f"{base}/api/v1/assistance-requests",
        body,
        {"Content-Type": "application/json", "X-API-Key": api_key},
    )


@pytest.fixture
def cluster(tmp_path, smtp_sink):
    """Two web nodes, two workers and two beats, stopped at the end."""
    env = _node_env(
        smtp_sink.port, {"OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_REENQUEUE_AFTER_SECONDS": "10"}
    )
    processes: dict[str, Process] = {}
    celery = [sys.executable, "-m", "celery", "-A", "worker"]
    subprocess.run([*celery, "purge", "-f"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    try:
        for name in ("web_a", "web_b"):
            port = free_port()
            processes[name] = Process(
                name,
                [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind",
                 f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
                env, tmp_path,
            )  # fmt: skip
            processes[name].base = f"http://127.0.0.1:{port}"
        for name in ("worker_a", "worker_b"):
            processes[name] = Process(
                name,
                [*celery, "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", f"--hostname={name}-{os.getpid()}@%h"],
                env, tmp_path,
            )  # fmt: skip
        for name in ("beat_a", "beat_b"):
            processes[name] = Process(
                name,
                [*celery, "beat", "--loglevel=INFO", "--pidfile=",
                 f"--schedule={tmp_path / name}-schedule"],
                env, tmp_path,
            )  # fmt: skip
        for name in ("web_a", "web_b"):
            base = processes[name].base
            if not wait_for(lambda b=base: _answers(f"{b}/healthz"), timeout=60):
                pytest.fail(f"{name} did not start:\n{processes[name].output()}")
        yield processes
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture
def agents():
    queue = Queue.objects.get(slug="habilitation")
    users = []
    for i in range(2):
        user = UserFactory(email=f"noeud{i}@asp.example")
        # Hashed as the nodes hash (the tests' own settings use a fast hasher they lack).
        user.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())
        user.save(update_fields=["password"])
        queue.members.add(user)
        device = TOTPDevice.objects.create(user=user, name="téléphone", confirmed=True)
        users.append((user, device))
    return users


def _acknowledgements(smtp_sink) -> Counter:
    found: Counter = Counter()
    for message in smtp_sink.messages:
        for reference in re.findall(rb"AP-\d{4}-\d{6}", message)[:1]:
            found[reference.decode()] += 1
    return found


def _sent_everything(expected: set[str], smtp_sink) -> bool:
    return expected <= set(_acknowledgements(smtp_sink))


def test_several_nodes_stay_correct(cluster, agents, smtp_sink):
    web_a, web_b = cluster["web_a"].base, cluster["web_b"].base
    api_key = api_key_create(name="noeuds")[1]

    # 1. A session opened on node A works on node B.
    (agent_a, device_a), (agent_b, device_b) = agents
    cookie_a = login_cookie(web_a, email=agent_a.email, password=PASSWORD, device=device_a)
    cookie_b = login_cookie(web_b, email=agent_b.email, password=PASSWORD, device=device_b)
    for base in (web_a, web_b):
        status, url, body = _get(f"{base}/backoffice/mes-tickets/", cookie_a)
        assert status == 200 and "/connexion" not in url and "Mes tickets" in body

    # 2. Intake spread over both nodes: each acknowledgement exactly once.
    references = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(_intake, (web_a, web_b)[i % 2], api_key, f"noeuds-{i}@exemple.fr")
            for i in range(20)
        ]
        for future in as_completed(futures):
            status, body = future.result()
            assert status == 201, body
            references.append(re.search(r'"reference": ?"([^"]+)"', body).group(1))
    assert len(set(references)) == 20
    if not wait_for(lambda: _sent_everything(set(references), smtp_sink), timeout=60):
        pytest.fail(
            "acknowledgements missing; workers:\n"
            + cluster["worker_a"].output()
            + cluster["worker_b"].output()
        )

    # 3. Take-next from both nodes at once: distinct tickets.
    def take_next(base: str, cookie: str) -> int | None:
        status, _, page = _get(f"{base}/backoffice/files/habilitation/", cookie)
        assert status == 200
        token = CSRF_INPUT.search(page).group(1)
        status, location = _post(
            f"{base}/backoffice/files/habilitation/suivant/",
            f"csrfmiddlewaretoken={token}".encode(),
            {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
             "Referer": f"{base}/backoffice/files/habilitation/"},
        )  # fmt: skip
        assert status == 302, location
        match = TICKET_URL.search(location)
        return int(match.group(1)) if match else None

    with ThreadPoolExecutor(max_workers=4) as pool:
        taken = list(
            pool.map(lambda i: take_next(*((web_a, cookie_a), (web_b, cookie_b))[i % 2]), range(16))
        )
    taken_ids = [pk for pk in taken if pk is not None]
    assert len(taken_ids) == 16
    assert len(set(taken_ids)) == 16, "a ticket was handed to two agents"
    assert Ticket.objects.filter(pk__in=taken_ids, assignee__isnull=False).count() == 16

    # 4. Jobs the broker never got (it was down at commit) are handed over by the sweeps
    #    of both beats (every second here), each exactly once.
    lost = []
    with publishing_to("redis://127.0.0.1:1/0"):
        for i in range(5):
            with transaction.atomic():
                lost.append(
                    email_queue(
                        template="ticket_acknowledgement",
                        to_email=f"perdu-{i}@exemple.fr",
                        context={"reference": f"AP-2026-99990{i}", "requester_name": "Perdu",
                                 "motif": "Autres", "siret": "73282932000074",
                                 "attached": False},
                    ).pk
                )  # fmt: skip
    # (The sweeps, every second, may already be handing them over.)
    assert OutboundEmail.objects.filter(pk__in=lost).count() == 5
    lost_refs = {f"AP-2026-99990{i}" for i in range(5)}
    if not wait_for(lambda: _sent_everything(lost_refs, smtp_sink), timeout=60):
        pytest.fail("the sweeps did not hand the lost e-mails over:\n" + cluster["beat_a"].output())
    handed = sum(
        int(n)
        for name in ("worker_a", "worker_b")
        for n in re.findall(r"Outbox sweep: (\d+) job", cluster[name].log.read_text())
    )
    assert handed == 5, "a job was handed over by two sweeps"
    beats_sent = [
        name for name in ("beat_a", "beat_b")
        if "worker.tasks.outbox_sweep" in cluster[name].log.read_text()
    ]  # fmt: skip
    assert beats_sent == ["beat_a", "beat_b"], "both beats must have asked for sweeps"

    # 5. Node B killed in the middle of requests.
    results: list[tuple[str, int | None]] = []
    killed = threading.Event()

    def send(i: int) -> None:
        email = f"coupure-{i}@exemple.fr"
        try:
            status, _ = _intake(web_b, api_key, email)
        except OSError:
            status = None
        results.append((email, status))
        if len(results) == 6 and not killed.is_set():
            killed.set()
            cluster["web_b"].kill()

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(send, range(24)))
    assert killed.is_set()
    ok = {email for email, status in results if status == 201}
    assert 6 <= len(ok) < 24, results
    created = Ticket.objects.filter(email__startswith="coupure-")
    assert ok <= set(created.values_list("email", flat=True))
    for ticket in created:
        assert ticket.messages.filter(kind=MessageKind.REQUEST).count() == 1
        assert {e.kind for e in ticket.events.all()} >= {EventKind.CREATED, EventKind.ROUTED}
        assert OutboundEmail.objects.filter(ticket=ticket).count() == 1
    refs = set(created.values_list("reference", flat=True))
    assert wait_for(lambda: _sent_everything(refs, smtp_sink), timeout=60)
    # Node A still serves the session opened on it, and every e-mail left exactly once.
    status, url, _ = _get(f"{web_a}/backoffice/mes-tickets/", cookie_a)
    assert status == 200 and "/connexion" not in url
    time.sleep(2)
    counts = _acknowledgements(smtp_sink)
    assert all(n == 1 for n in counts.values()), counts
    assert (
        not OutboundEmail.objects.exclude(status=EmailStatus.SENT)
        .filter(ticket__email__startswith="coupure-")
        .exists()
    )
