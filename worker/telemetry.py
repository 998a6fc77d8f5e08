"""What the worker and beat tell the operator, through Celery's signals (connected in
``WorkerConfig.ready``, so in every process that loads Django: web, worker, beat).

* **Context.** A task published during a web request carries the request id and the actor
  in its message headers; the worker binds them while the task runs, so the task's log
  lines can be joined to the request's.
* **Beat's tick and the worker's heartbeat.** Beat publishes ``worker.tasks.heartbeat``
  every ``OPS_HEARTBEAT_SECONDS``: publishing it records beat's last tick (in beat's
  process), and the worker that runs it records its answer and how long the ping waited.
  ``/readyz`` compares both with their bounds.
* **Beat tasks.** Every task of ``CELERY_BEAT_SCHEDULE`` has its duration observed, its
  failures counted and its last success stamped, whoever runs it.

Recording a figure never breaks what is measured: a failure to write one is logged and
dropped.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from . import context, metrics

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "worker.tasks.heartbeat"
HEADER_SENT_AT = "apsupport_sent_at"

BEAT_TASK_DURATION = metrics.histogram(
    "apsupport_beat_task_duration_seconds",
    "Run time of the tasks beat schedules, by task.",
    labels=("task",),
)
BEAT_TASK_FAILURES = metrics.counter(
    "apsupport_beat_task_failures", "Runs of a beat task that raised, by task.", labels=("task",)
)
BEAT_TASK_LAST_SUCCESS = metrics.gauge(
    "apsupport_beat_task_last_success_timestamp_seconds",
    "When a beat task last finished without error (Unix time), by task.",
    labels=("task",),
)
BEAT_LAST_TICK = metrics.gauge(
    "apsupport_beat_last_tick_timestamp_seconds",
    "When beat last published its heartbeat ping (Unix time).",
)
WORKER_LAST_HEARTBEAT = metrics.gauge(
    "apsupport_worker_last_heartbeat_timestamp_seconds",
    "When a worker last answered beat's heartbeat ping (Unix time).",
)
WORKER_HEARTBEAT_LAG = metrics.gauge(
    "apsupport_worker_heartbeat_lag_seconds",
    "How long beat's last answered ping waited for a worker (queue latency).",
)


def beat_task_names() -> frozenset[str]:
    return frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())


def _now() -> float:
    return timezone.now().timestamp()


# --- Beat's tick and the worker's heartbeat ---------------------------------------------


def beat_tick_record(at: float) -> None:
    """In beat's process, when it publishes the heartbeat ping."""
    # Beat is a long-lived process outside any request cycle: drop a connection that the
    # database closed meanwhile (as Django does between requests) before using it. Never
    # inside a transaction (a caller's, or a test's): that would end it.
    if not connection.in_atomic_block:
        close_old_connections()
    metrics.quietly("beat tick", lambda: metrics.set_gauge(BEAT_LAST_TICK, at))


def heartbeat_answer(*, sent_at: float | None) -> None:
    """In a worker, when it runs the ping."""
    now = _now()

    def record() -> None:
        metrics.set_gauge(WORKER_LAST_HEARTBEAT, now)
        if sent_at is not None:
            metrics.set_gauge(WORKER_HEARTBEAT_LAG, max(0.0, now - float(sent_at)))

    metrics.quietly("worker heartbeat", record)


# --- Celery signals ---------------------------------------------------------------------


def on_before_publish(sender: str | None = None, headers: dict | None = None, **_: Any) -> None:
    if headers is None:
        return
    request_id, actor = context.request_id(), context.actor()
    if request_id:
        headers.setdefault(context.HEADER_REQUEST_ID, request_id)
    if actor:
        headers.setdefault(context.HEADER_ACTOR, actor)
    if sender == HEARTBEAT_TASK:
        now = _now()
        headers[HEADER_SENT_AT] = now
        beat_tick_record(now)


_running: dict[str, tuple[float, context.Tokens | None]] = {}


def on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    request = task.request
    tokens = None
    # An eager task (tests, CELERY_TASK_ALWAYS_EAGER) runs inside its caller and keeps
    # the caller's context; a task in a worker takes the one its message carries.
    if not request.is_eager:
        tokens = context.bind(
            request_id=context.valid_request_id(getattr(request, context.HEADER_REQUEST_ID, None)),
            actor=getattr(request, context.HEADER_ACTOR, None),
            task=f"{task.name}[{task_id}]",
        )
    _running[task_id] = (time.monotonic(), tokens)


def on_postrun(task_id: str | None = None, task: Any = None, state: str | None = None,
               **_: Any) -> None:  # fmt: skip
    if task is None or task_id is None:
        return
    started, tokens = _running.pop(task_id, (None, None))
    try:
        if started is not None and task.name in beat_task_names():
            _task_finished(task.name, time.monotonic() - started, failed=state == "FAILURE")
    finally:
        if tokens is not None:
            context.unbind(tokens)


def _task_finished(name: str, seconds: float, *, failed: bool) -> None:
    def record() -> None:
        metrics.observe(BEAT_TASK_DURATION, seconds, task=name)
        if failed:
            metrics.inc(BEAT_TASK_FAILURES, task=name)
        else:
            metrics.set_gauge(BEAT_TASK_LAST_SUCCESS, _now(), task=name)

    metrics.quietly("beat task", record)


def connect() -> None:
    before_task_publish.connect(on_before_publish, dispatch_uid="apsupport-before-publish")
    task_prerun.connect(on_prerun, dispatch_uid="apsupport-prerun")
    task_postrun.connect(on_postrun, dispatch_uid="apsupport-postrun")
