from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from tickets import access
from tickets.models import OPEN_STATUSES, Ticket
from worker.memo import Memo

from .models import IncidentNotice, NoticeEvent, NoticeState

if TYPE_CHECKING:
    from accounts.staff.models import User


# Every page (and every new request) reads the live notices: each process keeps them
# (worker.memo: no round trip beyond the request's one read of the memos' stamp) for at
# most this many seconds; publishing, withdrawing, and beat's sweep that publishes or
# expires notices invalidate them on every node (``notices_live_changed``).
LIVE_NOTICES_SECONDS = 15
LIVE_NOTICES = Memo("notices_live", max_age=LIVE_NOTICES_SECONDS)


def notices_live_queryset(*, now: datetime | None = None) -> QuerySet[IncidentNotice]:
    """Published notices whose end has not passed. The end is checked here too, so a notice
    never outlives its end even if the sweep is late."""
    now = now or timezone.now()
    return (
        IncidentNotice.objects.filter(state=NoticeState.PUBLISHED)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("-starts_at", "-id")
    )


def notices_live() -> list[dict]:
    """The live notices as plain data (they are on every page)."""
    now = timezone.now()
    return [
        n for n in LIVE_NOTICES.get("live", _notices_live_read)
        if n["ends_at"] is None or n["ends_at"] > now
    ]  # fmt: skip


def _notices_live_read() -> list[dict]:
    return [
        {
            "id": n.pk,
            "title": n.title,
            "text": n.text,
            "level": n.level,
            "link": n.link or None,
            "starts_at": n.starts_at,
            "ends_at": n.ends_at,
            "affected_motifs": list(n.affected_motifs),
        }
        for n in notices_live_queryset()
    ]


def notices_live_changed() -> None:
    """Notices were published, withdrawn or expired: every process reads them again."""
    LIVE_NOTICES.invalidate()


def notice_ids_live_for_motif(*, motif: str) -> list[int]:
    return [n["id"] for n in notices_live() if motif in n["affected_motifs"]]


def notices_for_agents() -> QuerySet[IncidentNotice]:
    return IncidentNotice.objects.select_related("created_by").order_by("-starts_at", "-id")


def notices_for_agents_list(*, state: str | None = None) -> QuerySet[IncidentNotice]:
    """The agents' notices list: each notice with its author, its linked-ticket count and
    the id of its latest event (who changed it last, and when; see notice_last_events)."""
    latest = NoticeEvent.objects.filter(notice=OuterRef("pk")).order_by("-created_at", "-id")
    qs = notices_for_agents().annotate(
        linked_count=Count("tickets", distinct=True),
        last_event_id=Subquery(latest.values("id")[:1]),
    )
    if state:
        qs = qs.filter(state=state)
    return qs


def notice_last_events(notices: Iterable[IncidentNotice]) -> dict[int, NoticeEvent]:
    """The latest event of each notice of a page, with its actor: one query."""
    # ``last_event_id`` is annotated by ``notices_for_agents_list``.
    ids = [event_id for n in notices if (event_id := getattr(n, "last_event_id", None))]
    if not ids:
        return {}
    events = NoticeEvent.objects.select_related("actor").filter(pk__in=ids)
    return {event.notice_id: event for event in events}


def notice_state_counts() -> dict[str, int]:
    rows = IncidentNotice.objects.order_by().values("state").annotate(n=Count("id"))
    counts = {state: 0 for state in NoticeState.values}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def notice_events(*, notice: IncidentNotice) -> QuerySet:
    return notice.events.select_related("actor").order_by("created_at", "id")


def notice_linked_summary(*, notice: IncidentNotice, user: User) -> dict:
    """How many tickets are linked to the notice: open ones the user may work on (those a
    bulk resolution would answer), open ones outside the user's queues, and the others."""
    qs = Ticket.objects.filter(incident_notices=notice).order_by()
    mine = access.queue_visible_q(user)
    is_open = Q(status__in=OPEN_STATUSES)
    figures = qs.aggregate(
        total=Count("id"),
        open_workable=Count("id", filter=is_open & mine),
        open_all=Count("id", filter=is_open),
    )
    return {
        "total": figures["total"],
        "open_workable": figures["open_workable"],
        "open_not_accessible": figures["open_all"] - figures["open_workable"],
        "not_open": figures["total"] - figures["open_all"],
    }


def notice_linked_open_tickets(*, notice: IncidentNotice, user: User, limit: int = 100) -> list:
    """The first open linked tickets the user may work on (shown before a bulk reply)."""
    qs = access.tickets_for(user).filter(incident_notices=notice, status__in=OPEN_STATUSES)
    return list(qs.select_related("queue").order_by("pk")[:limit])
