"""Reads on tickets, scoped to the actor through the access rule (``tickets.access``):
agents see the tickets of the queues they are members of; supervisors and admins see every
queue. A ticket outside the actor's queues is reported as missing (``TicketNotFound``),
never as forbidden, so ids reveal nothing.

The list pages are designed for millions of rows: keyset pagination on the sort key plus
the id (never OFFSET), counts capped at ``COUNT_CAP`` (shown "1 000+"), and queue counts
computed by capped index probes in one query.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    IntegerField,
    Q,
    QuerySet,
)
from django.db.models.expressions import F, RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.staff.models import User
from worker.text import has_forbidden

from . import access
from .canned import canned_reply_fill
from .exceptions import TicketNotFound
from .models import (
    OPEN_STATUSES,
    CannedReply,
    FollowUpLink,
    Queue,
    Ticket,
    TicketDocument,
    TicketEvent,
    TicketMessage,
)

COUNT_CAP = 1000
PAGE_SIZE = 25
QUEUE_COUNTS_CACHE_SECONDS = 5


# --- Visibility (the rule itself is in tickets.access) -----------------------------------


def queues_for_user(user: User) -> list[Queue]:
    return access.queues_for(user)


def visible_queue_ids(user: User) -> list[int]:
    return access.queue_ids_for(user)


def queue_get_for_user(*, user: User, slug: str) -> Queue:
    return access.queue_for(user, slug=slug)


def ticket_visible_qs(user: User) -> QuerySet[Ticket]:
    return access.tickets_for(user)


def ticket_get_for_user(*, user: User, ticket_id: int) -> Ticket:
    return access.ticket_for(user, pk=ticket_id)


def _ticket_page_aggregates() -> dict[str, RawSQL]:
    """The ticket page's figures on its follow-up links and documents, as correlated
    scalar subqueries written once in SQL (portable: SQLite and PostgreSQL). Built with
    ``Subquery(...annotate(Max(...)))`` the ORM spent about 2 ms of CPU composing and
    compiling the four inner queries on every page; the database runs the same plans (the
    ``ticket_id`` indexes)."""
    ticket = f"{Ticket._meta.db_table}.{Ticket._meta.pk.column}"
    links = FollowUpLink._meta.db_table
    documents = TicketDocument._meta.db_table
    return {
        "followup_last_sent": RawSQL(
            f"SELECT MAX(sent_at) FROM {links} WHERE ticket_id = {ticket}",
            (),
            output_field=DateTimeField(),
        ),
        "followup_last_used": RawSQL(
            f"SELECT MAX(last_used_at) FROM {links} WHERE ticket_id = {ticket}",
            (),
            output_field=DateTimeField(),
        ),
        "followup_link_count": RawSQL(
            f"SELECT COUNT(*) FROM {links} WHERE ticket_id = {ticket}",
            (),
            output_field=IntegerField(),
        ),
        "document_count": RawSQL(
            f"SELECT COUNT(*) FROM {documents} WHERE ticket_id = {ticket} AND erased_at IS NULL",
            (),
            output_field=IntegerField(),
        ),
    }


def ticket_page_get(*, user: User, ticket_id: int) -> Ticket:
    """The ticket of the ticket page, through the access rule, with what the page shows of
    its follow-up links folded into the same query (``followup_last_sent``,
    ``followup_last_used``, ``followup_link_count``: the number of links, 0 without any),
    and its number of documents (``document_count``: most tickets have none, and then the
    page does not ask for them)."""
    ticket = (
        access.tickets_for(user)
        .select_related("queue", "assignee", "establishment")
        .annotate(**_ticket_page_aggregates())
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise TicketNotFound(str(access.TICKET_NOT_FOUND))
    return ticket


ASSIGNABLE_CACHE_SECONDS = 30


def assignable_users(*, user: User, queue_ids: list[int] | None = None) -> list[User]:
    """Who ``user`` may pick as an assignee (filters and assignment forms): the active
    members of the given queues (default: the actor's queues) and the supervisors.

    Memoised per request and cached ``ASSIGNABLE_CACHE_SECONDS`` across requests (every
    ticket page and list shows it): a change of membership shows in the pick lists within
    that time, and the assignment services check membership themselves anyway."""
    ids = queue_ids if queue_ids is not None else visible_queue_ids(user)
    memo = user.__dict__.setdefault("_assignable_users", {})
    key = tuple(sorted(ids))
    if key not in memo:
        cache_key = f"tickets:assignable:{','.join(map(str, key))}"
        rows = cache.get(cache_key)
        if rows is None:
            rows = list(
                User.objects.filter(is_active=True)
                .filter(Q(queues__in=ids) | Q(role__in=("supervisor", "admin")))
                .distinct()
                .order_by("last_name", "first_name", "pk")
                .values_list("pk", "first_name", "last_name", "email")
            )
            cache.set(cache_key, rows, ASSIGNABLE_CACHE_SECONDS)
        memo[key] = [
            User(pk=pk, first_name=first, last_name=last, email=email)
            for pk, first, last, email in rows
        ]
    return memo[key]


# --- Lists ----------------------------------------------------------------------------------

SCOPE_QUEUE = "queue"
SCOPE_MINE = "mine"
SCOPE_UNASSIGNED = "unassigned"


def ticket_list_qs(*, user: User, scope: str, queue: Queue | None = None) -> QuerySet[Ticket]:
    """The tickets of one list page, before the filters: one queue, the actor's own tickets,
    or the unassigned tickets of the actor's queues."""
    if scope == SCOPE_QUEUE:
        assert queue is not None
        return Ticket.objects.filter(queue_id=queue.pk)
    qs = ticket_visible_qs(user)
    if scope == SCOPE_MINE:
        return qs.filter(assignee=user)
    if scope == SCOPE_UNASSIGNED:
        return qs.filter(assignee__isnull=True)
    raise ValueError(scope)


def sla_late_q(now: datetime | None = None) -> Q:
    """Open tickets past a due date: no first response by its due time, or not resolved by
    the resolution due time."""
    now = now or timezone.now()
    return Q(status__in=OPEN_STATUSES) & (
        Q(first_response_at__isnull=True, sla_first_response_due__lt=now)
        | Q(sla_resolution_due__lt=now)
    )


# Sort keys: every column a list can be sorted on, with the fields of its keyset. All fields
# go the same direction, so "(a, b, id) > (x, y, z)" is one index range scan, forwards or
# backwards, whatever the depth.
SORTS: dict[str, tuple[str, ...]] = {
    "created_at": ("created_at", "id"),
    "priority": ("priority", "created_at", "id"),
    "updated_at": ("updated_at", "id"),
    "reference": ("reference", "id"),
}
DEFAULT_SORT = "created_at"
_DATETIME_FIELDS = {"created_at", "updated_at"}


def parse_sort(raw: str | None) -> tuple[str, bool]:
    """``"-priority"`` → ``("priority", True)``; anything unknown → the default."""
    raw = (raw or "").strip()
    descending = raw.startswith("-")
    name = raw.lstrip("-")
    if name not in SORTS:
        return DEFAULT_SORT, False
    return name, descending


def _encode_cursor(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(raw: str | None, fields: tuple[str, ...]) -> list | None:
    if not raw:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(fields):
            return None
        decoded: list = []
        for field, value in zip(fields, values, strict=True):
            if field in _DATETIME_FIELDS:
                parsed = parse_datetime(value) if isinstance(value, str) else None
                if parsed is None:
                    return None
                decoded.append(parsed)
            elif field in ("id", "priority"):
                if not isinstance(value, int) or isinstance(value, bool):
                    return None
                decoded.append(value)
            else:
                # A forged cursor must not carry what the database refuses (a NUL byte).
                if not isinstance(value, str) or has_forbidden(value):
                    return None
                decoded.append(value)
        return decoded
    except (ValueError, TypeError):
        return None


@dataclass
class TicketPage:
    rows: list[Ticket]
    next_cursor: str | None
    previous_cursor: str | None
    sort: str
    descending: bool

    @property
    def sort_param(self) -> str:
        return ("-" if self.descending else "") + self.sort


def ticket_page(
    qs: QuerySet[Ticket],
    *,
    sort: str | None = None,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> TicketPage:
    """One page of ``qs`` by keyset: ``after`` (next pages) or ``before`` (previous pages)
    is the cursor of the row the page starts after or ends before. The cost is one index
    range scan of ``per_page + 1`` rows, at any depth."""
    name, descending = parse_sort(sort)
    fields = SORTS[name]
    forward_desc = descending
    after_values = _decode_cursor(after, fields)
    before_values = None if after_values else _decode_cursor(before, fields)
    backwards = before_values is not None
    # Walking backwards is the forward walk with every direction flipped, then reversed.
    scan_desc = forward_desc != backwards
    cursor_values = before_values if backwards else after_values
    if cursor_values is not None:
        lookup = TupleLessThan if scan_desc else TupleGreaterThan
        qs = qs.filter(lookup(Tuple(*(F(f) for f in fields)), cursor_values))
    order = [("-" if scan_desc else "") + f for f in fields]
    rows = list(qs.select_related("queue", "assignee").order_by(*order)[: per_page + 1])
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()

    def cursor_of(ticket: Ticket) -> str:
        return _encode_cursor([getattr(ticket, f) for f in fields])

    if not rows:
        return TicketPage([], None, None, name, descending)
    next_cursor: str | None
    previous_cursor: str | None
    if backwards:
        next_cursor = cursor_of(rows[-1])
        previous_cursor = cursor_of(rows[0]) if has_more else None
    else:
        next_cursor = cursor_of(rows[-1]) if has_more else None
        previous_cursor = cursor_of(rows[0]) if cursor_values is not None else None
    return TicketPage(rows, next_cursor, previous_cursor, name, descending)


def capped_count(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """``(count, more)``: counts at most ``cap + 1`` rows, so its cost is bounded.

    No ORDER BY: the count does not depend on the order, and sorting the list's way made
    PostgreSQL sort every matching row before keeping ``cap + 1`` (a saved view sorted on
    the priority: 17,592 rows sorted, 97 ms at 1,000,000 tickets). The open tickets'
    filters (queue, status, agent, motif) are answered by an index-only scan of
    ``ticket_open_queue_status_idx`` (0.3 ms); a filter on closed tickets matches most
    rows, so whatever scan the planner picks stops early."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap


def format_count(count: int, more: bool) -> str:
    if more:
        return f"{count:,}+".replace(",", "\u202f")
    return f"{count:,}".replace(",", "\u202f")


# --- Queue counts (navigation) ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueCounts:
    # (queue_id, status) → (count, more)
    by_queue_status: dict[tuple[int, str], tuple[int, bool]]
    mine: tuple[int, bool]
    unassigned: tuple[int, bool]

    def queue_total(self, queue_id: int) -> tuple[int, bool]:
        total, more = 0, False
        for status in OPEN_STATUSES:
            count, status_more = self.by_queue_status.get((queue_id, status), (0, False))
            total += count
            more = more or status_more
        return total, more


def _queue_counts_key(user: User) -> str:
    return f"backoffice:queue-counts:{user.pk}:{','.join(map(str, visible_queue_ids(user)))}"


def queue_counts_forget(*, user: User) -> None:
    """After the actor's own change, its next page shows fresh counts (colleagues' pages
    catch up within ``QUEUE_COUNTS_CACHE_SECONDS``)."""
    cache.delete(_queue_counts_key(user))


def queue_counts(*, user: User) -> QueueCounts:
    """Open tickets per visible queue and status, the actor's own open tickets and the
    unassigned ones, each capped at ``COUNT_CAP``.

    One query whatever the size: each figure is a ``COUNT`` over a ``LIMIT cap + 1``
    subquery that walks the (queue, status, created_at, id) index, so the whole costs at
    most a few thousand index entries. The ``ORDER BY`` matches the index: without it the
    planner may pick a sequential scan that crosses every closed ticket before it finds
    the open ones (open tickets are the recent rows, at the end of the table). Cached a
    few seconds per user: the navigation is on every page.
    """
    queue_ids = visible_queue_ids(user)
    table = connection.ops.quote_name(Ticket._meta.db_table)
    limit = COUNT_CAP + 1
    arms: list[str] = []
    params: list = []
    for queue_id in queue_ids:
        for status in OPEN_STATUSES:
            arms.append(
                f"SELECT %s, %s, (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
                f"WHERE queue_id = %s AND status = %s ORDER BY created_at, id LIMIT {limit}) t)"
            )
            params += [queue_id, str(status), queue_id, str(status)]
    if queue_ids:
        placeholders = ", ".join(["%s"] * len(queue_ids))
        open_placeholders = ", ".join(["%s"] * len(OPEN_STATUSES))
        arms.append(
            f"SELECT -1, 'mine', (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
            f"WHERE assignee_id = %s AND status IN ({open_placeholders}) "
            f"AND queue_id IN ({placeholders}) "
            f"ORDER BY created_at, id LIMIT {limit}) t)"
        )
        params += [user.pk, *map(str, OPEN_STATUSES), *queue_ids]
        arms.append(
            f"SELECT -2, 'unassigned', (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
            f"WHERE assignee_id IS NULL AND status IN ({open_placeholders}) "
            f"AND queue_id IN ({placeholders}) "
            f"ORDER BY created_at, id LIMIT {limit}) t)"
        )
        params += [*map(str, OPEN_STATUSES), *queue_ids]
    if not arms:
        return QueueCounts({}, (0, False), (0, False))
    cache_key = _queue_counts_key(user)
    rows = cache.get(cache_key)
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(arms), params)
            rows = [tuple(r) for r in cursor.fetchall()]
        cache.set(cache_key, rows, QUEUE_COUNTS_CACHE_SECONDS)
    by_queue_status: dict[tuple[int, str], tuple[int, bool]] = {}
    mine = unassigned = (0, False)
    for queue_id, status, n in rows:
        figure = (min(n, COUNT_CAP), n > COUNT_CAP)
        if queue_id == -1:
            mine = figure
        elif queue_id == -2:
            unassigned = figure
        else:
            by_queue_status[(queue_id, status)] = figure
    return QueueCounts(by_queue_status, mine, unassigned)


# --- The ticket page ------------------------------------------------------------------------


def ticket_timeline(*, ticket: Ticket) -> list[TicketEvent]:
    return list(
        TicketEvent.objects.filter(ticket_id=ticket.pk)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def ticket_messages(*, ticket: Ticket) -> list[TicketMessage]:
    return list(
        TicketMessage.objects.filter(ticket_id=ticket.pk)
        .select_related("author")
        .order_by("created_at", "id")
    )


AGE_FILTERS = {
    "lt1d": (None, timedelta(days=1)),
    "1to3d": (timedelta(days=1), timedelta(days=3)),
    "3to7d": (timedelta(days=3), timedelta(days=7)),
    "gt7d": (timedelta(days=7), None),
}


def age_q(code: str, now: datetime | None = None) -> Q:
    """Tickets whose age is in the band ``code`` (see ``AGE_FILTERS``)."""
    now = now or timezone.now()
    older_than, younger_than = AGE_FILTERS[code]
    q = Q()
    if older_than is not None:
        q &= Q(created_at__lte=now - older_than)
    if younger_than is not None:
        q &= Q(created_at__gt=now - younger_than)
    return q


# --- System-wide figures for the operator's metrics -----------------------------------
# Counts only (no row, no personal data leaves), for beat's rollup of the metrics
# (``backoffice.ops.metrics``): no person reads them through a page, so they are not
# scoped to an actor; the metrics endpoint has its own access control.


@dataclass(frozen=True)
class OpenTicketFigures:
    queue_slug: str
    status: str
    open: int
    first_response_breached: int
    resolution_breached: int


def open_ticket_figures() -> list[OpenTicketFigures]:
    """Open tickets per queue and status, and how many of them missed an SLA target: one
    GROUP BY over the partial index of open tickets. Every queue and open status appears,
    with zeros."""
    rows = {
        (row["queue_id"], row["status"]): row
        for row in Ticket.objects.filter(status__in=OPEN_STATUSES)
        .values("queue_id", "status")
        .annotate(
            n=Count("id"),
            fr=Count("id", filter=Q(first_response_breached_at__isnull=False)),
            res=Count("id", filter=Q(resolution_breached_at__isnull=False)),
        )
        .order_by()
    }
    figures = []
    for queue_id, slug in Queue.objects.order_by("slug").values_list("pk", "slug"):
        for status in OPEN_STATUSES:
            row = rows.get((queue_id, status), {})
            figures.append(
                OpenTicketFigures(
                    queue_slug=slug,
                    status=str(status),
                    open=row.get("n", 0),
                    first_response_breached=row.get("fr", 0),
                    resolution_breached=row.get("res", 0),
                )
            )
    return figures


# --- Canned replies ("réponses types") -------------------------------------------------------

CANNED_REPLIES_OFFERED_MAX = 50


@dataclass
class OfferedCannedReply:
    pk: int
    title: str
    motif_label: str
    text: str


def canned_replies_for_ticket(*, ticket: Ticket) -> list[OfferedCannedReply]:
    """The canned replies an agent may insert on ``ticket`` (already read through the
    access rule): the active ones of its queue, of its motif or of every motif, with their
    placeholders filled with the ticket's values. One query."""
    rows = (
        CannedReply.objects.filter(
            queue_id=ticket.queue_id, is_active=True, motif__in=["", ticket.motif]
        )
        .only("pk", "title", "motif", "body")
        .order_by("title", "id")[:CANNED_REPLIES_OFFERED_MAX]
    )
    return [
        OfferedCannedReply(
            pk=row.pk,
            title=row.title,
            motif_label=str(row.get_motif_display()) if row.motif else "",
            text=canned_reply_fill(row.body, ticket=ticket),
        )
        for row in rows
    ]


def canned_replies_for_management(
    *, queue_id: int | None = None, motif: str | None = None, include_inactive: bool = True
) -> QuerySet[CannedReply]:
    """The supervisors' list: every canned reply, or those of one queue and/or one motif
    (``motif=""``: those for every motif of their queue)."""
    qs = CannedReply.objects.select_related("queue", "updated_by").order_by(
        "queue__name", "motif", "title", "id"
    )
    if queue_id is not None:
        qs = qs.filter(queue_id=queue_id)
    if motif is not None:
        qs = qs.filter(motif=motif)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs
