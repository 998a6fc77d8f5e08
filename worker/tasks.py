"""Celery tasks: thin interfaces that take ids and call services."""

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
def notices_sweep() -> None:
    from backoffice.services import notices_sweep as sweep

    sweep()


@shared_task(ignore_result=True)
def sla_breaches_mark() -> None:
    from tickets.services import sla_breaches_mark as mark

    mark()


@shared_task(ignore_result=True)
def tickets_anonymize_expired() -> None:
    from tickets.services import tickets_anonymize_expired as anonymize

    while anonymize():
        pass


@shared_task(ignore_result=True)
def dashboard_refresh() -> None:
    from backoffice.dashboard import dashboard_refresh as refresh

    refresh()
