"""Celery tasks of the accounts app: thin, take ids, call services, idempotent."""

from __future__ import annotations

from celery import shared_task

from . import links, reassignment


@shared_task(ignore_result=True)
def recovery_request_process(request_id: int) -> None:
    links.recovery_request_process(request_id=request_id)


@shared_task(ignore_result=True)
def recovery_requests_sweep() -> None:
    links.recovery_requests_sweep()


@shared_task(ignore_result=True)
def recovery_links_expire_sweep() -> None:
    links.recovery_links_expire_sweep()


@shared_task(ignore_result=True)
def reassignments_apply_due() -> None:
    reassignment.reassignments_apply_due()
