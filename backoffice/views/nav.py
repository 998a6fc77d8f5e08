"""The back-office navigation (the agent's queues and their counts), added to the context
of every back-office page."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.extranet.selectors import reassignments_awaiting_count
from tickets.models import OPEN_STATUSES, Status
from tickets.selectors import format_count, queue_counts, queues_for_user

from ..dashboard import queues_without_agents
from ..decorators import backoffice_required
from ..savedviews.selectors import saved_views_nav

# Up to this many queues, each is an item of the menu; beyond, they fold into a "Files"
# dropdown, so that the menu stays on one line at 1366 px.
NAV_QUEUES_INLINE = 3
# The supervisors' pages, grouped in the "Pilotage" dropdown.
PILOTAGE_PAGES = ("dashboard", "routing", "canned_replies", "notices")


@dataclass
class NavQueue:
    slug: str
    name: str
    total: str
    by_status: list[tuple[str, str]]
    url: str = ""

    @property
    def title(self) -> str:
        """The counts by status, the link's tooltip ("Nouveau : 3 · En cours : 1 · …"),
        built here rather than by a loop inside an attribute of every menu link. Not
        marked safe: the template escapes it."""
        return " · ".join(f"{label} : {count}" for label, count in self.by_status)


def nav_context(request, *, current: str = "") -> dict:
    user = request.user
    counts = queue_counts(user=user)
    queues = []
    # One reverse() for the menu instead of one per queue ("0" stands for the slug).
    url_prefix = reverse("backoffice:queue", args=["0"])[: -len("0/")]
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
                url=f"{url_prefix}{queue.slug}/",
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
        # Saved views ("Mes vues"): one menu item whose list and counts load when it is
        # opened (``saved_views_menu``), so no page pays for them.
        "nav_current_view": (
            int(current[5:]) if current.startswith("view:") and current[5:].isdigit() else None
        ),
    }


@require_GET
@backoffice_required
def saved_views_menu(request):
    """The saved views the user may open, with their counts (capped like the queues'):
    the content of the menu's "Mes vues" item, loaded by htmx when it is opened; without
    JavaScript, the same list as a page."""
    views = saved_views_nav(user=request.user)
    if request.htmx:
        current = request.GET.get("courante", "")
        response = render(
            request,
            "backoffice/queues/_saved_views_menu.html",
            {
                "nav_saved_views": views,
                "nav_current_view": int(current) if current.isdigit() else None,
            },
        )
    else:
        response = render(
            request,
            "backoffice/queues/saved_views.html",
            {**nav_context(request, current="views"), "views": views},
        )
    patch_vary_headers(response, ("HX-Request",))
    return response
