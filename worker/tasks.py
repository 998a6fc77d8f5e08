"""The outbox's Celery tasks: thin interfaces that take ids and call services. The domain
apps' tasks live beside their services (``<app>/tasks.py``)."""

from __future__ import annotations

from celery import shared_task

from . import services, telemetry


@shared_task(ignore_result=True)
def send_email(email_id: int) -> None:
    services.email_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    services.outbox_sweep()


@shared_task(ignore_result=True)
def run_job(job_id: int) -> None:
    services.job_run(job_id=job_id)


@shared_task(bind=True, ignore_result=True)
def heartbeat(self) -> None:
    """Beat's ping (every ``OPS_HEARTBEAT_SECONDS``): the worker that runs it records its
    answer; ``/readyz`` reports a worker down when no answer came within the bound."""
    telemetry.heartbeat_answer(sent_at=getattr(self.request, telemetry.HEADER_SENT_AT, None))
