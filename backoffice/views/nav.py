"""The back-office navigation (the agent's queues and their counts), added to the context
of every back-office page."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.extranet.selectors import reassignments_awaiting_count
from tickets.models import OPEN_STATUSES, Status
from tickets.selectors import format_count, queue_counts, queues_for_user


@dataclass
class NavQueue:
    slug: str
    name: str
    total: str
    by_status: list[tuple[str, str]]


def nav_context(request, *, current: str = "") -> dict:
    user = request.user
    counts = queue_counts(user=user)
    queues = []
    for queue in queues_for_user(user):
        queues.append(
            NavQueue(
                slug=queue.slug,
                name=queue.name,
                total=format_count(*counts.queue_total(queue.pk)),
                by_status=[
                    (
                        Status(status).label,
                        format_count(*counts.by_queue_status.get((queue.pk, status), (0, False))),
                    )
                    for status in OPEN_STATUSES
                ],
            )
        )
    return {
        "nav_queues": queues,
        "nav_mine": format_count(*counts.mine),
        "nav_unassigned": format_count(*counts.unassigned),
        "nav_current": current,
        # Supervisors decide on reassignments: they see how many await an approval.
        "nav_reassignments_awaiting": (
            reassignments_awaiting_count(actor=user) if user.is_supervisor else None
        ),
    }
