"""``/readyz``: is every dependency of the promises up? Each check says its state, how long
it took and, in French, what it saw.

Written here rather than taken from django-health-check: the two checks that matter most
are not in it (beat's last tick; a worker answering a ping that went through the broker,
which also works with the file broker of ``make run``, where Celery's broadcast ``ping``
cannot), and the other three are a few lines each.

* ``database``: ``SELECT 1``.
* ``cache``: a value written, read back and deleted.
* ``broker``: a connection to the broker the web publishes to (Redis: a PING).
* ``worker``: a worker answered beat's heartbeat ping less than ``OPS_WORKER_SILENCE_SECONDS``
  ago, and that ping had waited less than that in the queue.
* ``beat``: beat published its heartbeat ping less than ``OPS_BEAT_SILENCE_SECONDS`` ago.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from worker.cache import cache_available
from worker.celery import app as celery_app
from worker.models import Metric
from worker.telemetry import BEAT_LAST_TICK, WORKER_HEARTBEAT_LAG, WORKER_LAST_HEARTBEAT


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    detail: str

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "state": "ok" if self.ok else "down",
            "latency_ms": round(self.latency_ms, 2),
            "detail": self.detail,
        }


def _error(exc: BaseException) -> str:
    # The exception's class only: its text may carry a host name or a URL with a password.
    return _("injoignable (%(error)s)") % {"error": type(exc).__name__}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return _("répond")


def check_cache() -> str:
    # The Redis cache answers a miss when Redis is down (worker/cache.py): ask it directly.
    if not cache_available():
        raise CheckFailed(_("injoignable"))
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 10)
    read = cache.get(key)
    cache.delete(key)
    if read != value:
        raise CheckFailed(_("la valeur écrite n'a pas été relue"))
    return _("répond")


def check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=3)
        # Opening the channel talks to the broker (Redis: PING); the file broker checks
        # its folders.
        conn.default_channel  # noqa: B018
        options = conn.transport_options or {}
        folder = options.get("data_folder_in")
        if conn.transport_cls == "filesystem" and folder and not os.access(folder, os.W_OK):
            raise CheckFailed(_("dossier du broker non accessible en écriture"))
    return _("répond")


def _heartbeat_values() -> dict[str, float]:
    names = [BEAT_LAST_TICK.name, WORKER_LAST_HEARTBEAT.name, WORKER_HEARTBEAT_LAG.name]
    return dict(Metric.objects.filter(name__in=names, labels="").values_list("name", "value"))


def _age(value: float | None) -> float | None:
    return None if value is None else max(0.0, timezone.now().timestamp() - value)


def check_worker() -> str:
    values = _heartbeat_values()
    age = _age(values.get(WORKER_LAST_HEARTBEAT.name))
    bound = settings.OPS_WORKER_SILENCE_SECONDS
    if age is None:
        raise CheckFailed(_("aucun worker n'a encore répondu au signal de beat"))
    if age > bound:
        raise CheckFailed(
            _("aucune réponse d'un worker depuis %(age)d s (limite : %(bound)d s)")
            % {"age": age, "bound": bound}
        )
    lag = values.get(WORKER_HEARTBEAT_LAG.name)
    if lag is not None and lag > bound:
        raise CheckFailed(
            _("le dernier signal a attendu %(lag)d s un worker (limite : %(bound)d s)")
            % {"lag": lag, "bound": bound}
        )
    return _("a répondu il y a %(age)d s (attente : %(lag)s s)") % {
        "age": age,
        "lag": "?" if lag is None else f"{lag:.1f}",
    }


def check_beat() -> str:
    age = _age(_heartbeat_values().get(BEAT_LAST_TICK.name))
    bound = settings.OPS_BEAT_SILENCE_SECONDS
    if age is None:
        raise CheckFailed(_("beat n'a encore jamais émis son signal"))
    if age > bound:
        raise CheckFailed(
            _("dernier signal de beat il y a %(age)d s (limite : %(bound)d s)")
            % {"age": age, "bound": bound}
        )
    return _("dernier signal il y a %(age)d s") % {"age": age}


class CheckFailed(Exception):
    """A dependency answered, but not as it should: the message says how (French)."""


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
}


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - a dependency down is an answer, not an error
        detail, ok = _error(exc), False
    return CheckResult(
        name=name, ok=ok, latency_ms=(time.perf_counter() - started) * 1000, detail=detail
    )


def readiness() -> list[CheckResult]:
    return [_run(name, check) for name, check in CHECKS.items()]
