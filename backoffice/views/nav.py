"""The back-office navigation (the agent's queues and their counts), added to the context
of every back-office page."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.extranet.selectors import reassignments_awaiting_count
from tickets.models import OPEN_STATUSES, Status
from tickets.selectors import format_count, queue_counts, queues_for_user

from ..dashboard import queues_without_agents

# Up to this many queues, each is an item of the menu; beyond, they fold into a "Files"
# dropdown, so that the menu stays on one line at 1366 px.
NAV_QUEUES_INLINE = 3
# The supervisors' pages, grouped in the "Pilotage" dropdown.
PILOTAGE_PAGES = ("dashboard", "routing", "notices")


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
    supervisor = user.is_supervisor
    return {
        "nav_queues": queues,
        "nav_queues_grouped": len(queues) > NAV_QUEUES_INLINE,
        "nav_queue_current": current.startswith("queue:"),
        "nav_pilotage_current": current in PILOTAGE_PAGES,
        "nav_mine": format_count(*counts.mine),
        "nav_unassigned": format_count(*counts.unassigned),
        "nav_current": current,
        # Supervisors decide on reassignments: they see how many await an approval.
        "nav_reassignments_awaiting": (
            reassignments_awaiting_count(actor=user) if supervisor else None
        ),
        # Queues with open tickets and no active agent: nobody works on them (cached).
        "nav_queues_without_agents": len(queues_without_agents()) if supervisor else None,
    }
