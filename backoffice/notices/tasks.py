"""Beat's notice sweep: publishes scheduled notices at their start, expires them at their
end (idempotent; a missed run is caught up by the next)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def notices_sweep() -> None:
    services.notices_sweep()
