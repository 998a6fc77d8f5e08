"""The outbox's Celery tasks: thin interfaces that take ids and call services. The domain
apps' tasks live beside their services (``<app>/tasks.py``)."""

from __future__ import annotations

import random
from typing import Any

from celery import shared_task
from django.db import DatabaseError

from . import services, telemetry

# Database errors are retried by the task itself, quickly: 2, 4, 8 … seconds (with up to
# 20 % of jitter, so workers that met one outage do not come back in step), capped at a
# minute, at most RETRY_MAX times; past that, beat's outbox sweep hands the row over
# (a row claimed and left "sending", after EMAIL_CLAIM_TIMEOUT_SECONDS). SMTP errors are
# not retried here: the row goes back to the outbox with its own, longer backoff (1, 2,
# 4 … 60 minutes, EMAIL_MAX_ATTEMPTS tries) and the sweep hands it over when due, which
# keeps long waits out of the broker (STACK.md pitfall 13).
RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 60.0
RETRY_MAX = 8
# A message the SMTP server accepted only needs its "sent" state recorded: such a resume
# is tried for longer (a retry cannot send anything).
RETRY_MAX_AFTER_SENDING = 20


def retry_delay(retries: int) -> float:
    """The wait before retry number ``retries + 1``: exponential, capped, with jitter."""
    delay = min(RETRY_BASE_SECONDS * 2**retries, RETRY_CAP_SECONDS)
    return delay * (1 + random.uniform(0, 0.2))  # noqa: S311 - jitter, not a secret


def _run_retrying(task: Any, call: Any, *, job_id: int, resume: dict | None) -> None:
    try:
        call(job_id, resume)
    except services.DeliveryInterrupted as exc:
        after_sending = exc.resume["sent"]
        raise task.retry(
            args=(job_id,),
            kwargs={"resume": exc.resume},
            countdown=retry_delay(task.request.retries),
            max_retries=RETRY_MAX_AFTER_SENDING if after_sending else RETRY_MAX,
            exc=exc,
        ) from exc
    except DatabaseError as exc:
        # Nothing was claimed (the claim itself failed): a plain retry.
        raise task.retry(
            args=(job_id,),
            kwargs={"resume": resume},
            countdown=retry_delay(task.request.retries),
            max_retries=RETRY_MAX,
            exc=exc,
        ) from exc


@shared_task(bind=True, ignore_result=True)
def send_email(self, email_id: int, resume: dict | None = None) -> None:
    _run_retrying(
        self,
        lambda pk, r: services.email_deliver(email_id=pk, resume=r),
        job_id=email_id,
        resume=resume,
    )


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    services.outbox_sweep()


@shared_task(bind=True, ignore_result=True)
def run_job(self, job_id: int, resume: dict | None = None) -> None:
    _run_retrying(
        self,
        lambda pk, r: services.job_run(job_id=pk, resume=r),
        job_id=job_id,
        resume=resume,
    )


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    """Beat's ping (every ``OPS_HEARTBEAT_SECONDS``): the worker that runs it records its
    answer; ``/readyz`` reports a worker down when no answer came within the bound."""
    telemetry.heartbeat_answer(sent_at=getattr(self.request, telemetry.HEADER_SENT_AT, None))
