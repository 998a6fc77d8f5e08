"""Reads of the outbox for the operator: what is waiting, and since when.

Both are probes of partial indexes on the jobs not done yet (a few rows in a healthy
system), bounded even when the outbox backs up: the backlog is counted up to a cap.
"""

from __future__ import annotations

from datetime import datetime

from .models import EmailStatus, OutboxJob

NOT_DONE = (EmailStatus.PENDING, EmailStatus.SENDING)
BACKLOG_CAP = 100_000


def outbox_backlog(*, cap: int = BACKLOG_CAP) -> int:
    """Jobs not done yet (waiting, being run, or waiting for a retry), counted up to
    ``cap``: ``SELECT COUNT(*) FROM (SELECT … LIMIT cap)`` on the partial index."""
    return OutboxJob.objects.filter(status__in=NOT_DONE).values("pk")[:cap].count()


def outbox_oldest_pending_created_at() -> datetime | None:
    """When the oldest job not done yet was queued (None: the outbox is empty)."""
    return (
        OutboxJob.objects.filter(status__in=NOT_DONE)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
