"""The outbox's Celery tasks: thin interfaces that take ids and call services. The domain
apps' tasks live beside their services (``<app>/tasks.py``)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def send_email(email_id: int) -> None:
    services.email_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    services.outbox_sweep()


@shared_task(ignore_result=True)
def run_job(job_id: int) -> None:
    services.job_run(job_id=job_id)
