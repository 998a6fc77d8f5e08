"""Beat's sweeps of the extranet accounts: thin, idempotent, bounded (they call services).
The "J'ai oublié…" requests are outbox jobs (``worker``), run and swept there."""

from __future__ import annotations

from celery import shared_task

from . import links, reassignment


@shared_task(ignore_result=True)
def recovery_links_expire_sweep() -> None:
    links.recovery_links_expire_sweep()


@shared_task(ignore_result=True)
def reassignments_apply_due() -> None:
    reassignment.reassignments_apply_due()
