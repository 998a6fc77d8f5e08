"""Beat's sweeps of the tickets app: thin, idempotent, bounded (they call services)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def sla_breaches_mark() -> None:
    services.sla_breaches_mark()


@shared_task(ignore_result=True)
def tickets_anonymize_expired() -> None:
    # Bounded batches until nothing is left (each batch is its own transaction).
    while services.tickets_anonymize_expired():
        pass
