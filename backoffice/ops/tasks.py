"""Beat's rollup of the domain figures for ``/metrics`` (every minute)."""

from __future__ import annotations

from celery import shared_task

from . import metrics


@shared_task(ignore_result=True)
def metrics_rollup() -> None:
    metrics.metrics_rollup_refresh()
