"""Celery tasks of the accounts app: thin, take ids, call services, idempotent."""

from __future__ import annotations

from celery import shared_task

from . import reassignments, recovery


@shared_task(ignore_result=True)
def recovery_request_process(request_id: int) -> None:
    recovery.recovery_request_process(request_id=request_id)


@shared_task(ignore_result=True)
def recovery_requests_sweep() -> None:
    recovery.recovery_requests_sweep()


@shared_task(ignore_result=True)
def recovery_links_expire_sweep() -> None:
    recovery.recovery_links_expire_sweep()


@shared_task(ignore_result=True)
def reassignments_apply_due() -> None:
    reassignments.reassignments_apply_due()
