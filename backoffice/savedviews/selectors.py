"""Reads on saved views, through the access rule: a user sees their own views and the
views shared with a queue they work on (supervisors work on every queue). A view of
another agent that is not shared with one of the viewer's queues does not exist for them
(404), like a ticket of another queue."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import QueryDict

from accounts.staff.models import User
from tickets import selectors as ticket_selectors
from tickets.exceptions import TicketNotFound
from tickets.models import Queue, Ticket

from ..filters import TicketFilter
from .models import SavedView, SavedViewScope

SAVED_VIEW_NOT_FOUND = "Cette vue n'existe pas ou ne vous est pas accessible."
# Like the queue counts of the navigation: a few seconds, per user.
NAV_CACHE_SECONDS = ticket_selectors.QUEUE_COUNTS_CACHE_SECONDS
# The keys a saved view keeps: the list filters and the sort (never a page cursor).
SORT_PARAM = "sort"


def saved_views_visible_qs(user: User) -> QuerySet[SavedView]:
    queue_ids = ticket_selectors.visible_queue_ids(user)
    return SavedView.objects.filter(Q(owner=user) | Q(shared_with_id__in=queue_ids))


def saved_view_get_for_user(*, user: User, pk: int) -> SavedView:
    """The view ``pk`` if ``user`` may open it: theirs, or shared with one of their queues;
    and, for a queue's view, only if they work on that queue. Otherwise ``TicketNotFound``."""
    view = (
        saved_views_visible_qs(user)
        .select_related("queue", "shared_with", "owner")
        .filter(pk=pk)
        .first()
    )
    if view is None:
        raise TicketNotFound(SAVED_VIEW_NOT_FOUND)
    if view.scope == SavedViewScope.QUEUE and view.queue_id not in (
        ticket_selectors.visible_queue_ids(user)
    ):
        raise TicketNotFound(SAVED_VIEW_NOT_FOUND)
    return view


def saved_view_query(view: SavedView) -> QueryDict:
    """The view's parameters as the list page's GET parameters."""
    query = QueryDict(mutable=True)
    for key, values in (view.params or {}).items():
        if isinstance(values, list):
            query.setlist(key, [str(v) for v in values])
        elif values is not None:
            query[key] = str(values)
    return query


def saved_view_filtered_qs(
    *, user: User, scope: str, queue: Queue | None, query: QueryDict
) -> QuerySet[Ticket]:
    """The tickets a list shows for these parameters; invalid values are ignored (the page
    shows their error), so a value removed since the view was saved never fails."""
    base = ticket_selectors.ticket_list_qs(user=user, scope=scope, queue=queue)
    filterset = TicketFilter(query or None, queryset=base, request=SimpleNamespace(user=user))
    if filterset.is_bound and filterset.is_valid():
        return filterset.qs
    return base.filter(status__in=ticket_selectors.OPEN_STATUSES)


@dataclass(frozen=True)
class NavSavedView:
    pk: int
    name: str
    count: str
    shared: bool  # shared with a queue (by the viewer or with the viewer)
    mine: bool


def _nav_key(user: User) -> str:
    queue_ids = ",".join(map(str, ticket_selectors.visible_queue_ids(user)))
    return f"backoffice:saved-views:{user.pk}:{queue_ids}"


def saved_views_nav_forget(*, user: User) -> None:
    cache.delete(_nav_key(user))


def saved_views_nav(*, user: User) -> list[NavSavedView]:
    """The viewer's saved views with their counts of tickets, capped like the queue counts
    ("1 000+"). At most two queries (the views, then every count in one statement, each a
    ``COUNT`` over a ``LIMIT cap + 1`` subquery in the list's index order), cached a few
    seconds per user like the queue counts."""
    key = _nav_key(user)
    rows = cache.get(key)
    if rows is None:
        rows = _saved_views_nav_rows(user)
        cache.set(key, rows, NAV_CACHE_SECONDS)
    return [
        NavSavedView(
            pk=pk,
            name=name,
            count=ticket_selectors.format_count(
                min(n, ticket_selectors.COUNT_CAP), n > ticket_selectors.COUNT_CAP
            ),
            shared=shared,
            mine=owner_id == user.pk,
        )
        for pk, name, n, shared, owner_id in rows
    ]


def _saved_views_nav_rows(user: User) -> list[tuple[int, str, int, bool, int]]:
    visible = set(ticket_selectors.visible_queue_ids(user))
    views = [
        view
        for view in saved_views_visible_qs(user).select_related("queue").order_by("name", "pk")
        if view.scope != SavedViewScope.QUEUE or view.queue_id in visible
    ]
    if not views:
        return []
    arms: list[str] = []
    params: list = []
    limit = ticket_selectors.COUNT_CAP + 1
    for view in views:
        query = saved_view_query(view)
        qs = saved_view_filtered_qs(user=user, scope=view.scope, queue=view.queue, query=query)
        # Unordered, like ``tickets.selectors.capped_count``: no sort before the cap.
        sql, sql_params = qs.order_by().values("pk")[:limit].query.sql_with_params()
        arms.append(f"SELECT %s, (SELECT COUNT(*) FROM ({sql}) t)")
        params += [view.pk, *sql_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(arms), params)
        counts = {pk: n for pk, n in cursor.fetchall()}
    return [
        (view.pk, view.name, counts.get(view.pk, 0), view.shared_with_id is not None, view.owner_id)
        for view in views
    ]
