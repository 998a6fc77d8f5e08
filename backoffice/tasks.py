"""Beat's refresh of the supervisors' dashboard rollup."""

from __future__ import annotations

from celery import shared_task

from . import dashboard


@shared_task(ignore_result=True)
def dashboard_refresh() -> None:
    dashboard.dashboard_refresh()
