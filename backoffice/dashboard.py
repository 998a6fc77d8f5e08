"""Figures for the supervisors' dashboard, computed in SQL (never by loading rows).

Each section is one query whatever the number of tickets. Percentiles use the
nearest-rank method with window functions, which SQLite (≥ 3.25) and PostgreSQL share.
The whole set is cached briefly and warmed by beat (``dashboard_refresh``), so a page
view reads a rollup, not the ticket table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, FloatField, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.business_hours import PARIS
from tickets.models import OPEN_STATUSES, Queue, Ticket
from tickets.selectors import QUEUE_COUNTS_CACHE_SECONDS, sla_late_q

CACHE_SECONDS = 60
AGE_BUCKETS = (
    ("lt_1d", "Moins d'un jour", timedelta(0), timedelta(days=1)),
    ("1_3d", "1 à 3 jours", timedelta(days=1), timedelta(days=3)),
    ("3_7d", "3 à 7 jours", timedelta(days=3), timedelta(days=7)),
    ("7_30d", "7 à 30 jours", timedelta(days=7), timedelta(days=30)),
    ("gt_30d", "Plus de 30 jours", timedelta(days=30), None),
)


class Seconds(Func):
    """Seconds from the second expression to the first (end - start), as a number."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL and others
        end, start = (compiler.compile(e) for e in self.source_expressions)
        return f"EXTRACT(EPOCH FROM ({end[0]} - {start[0]}))", [*end[1], *start[1]]

    def as_sqlite(self, compiler, connection, **extra):
        end, start = (compiler.compile(e) for e in self.source_expressions)
        return f"((julianday({end[0]}) - julianday({start[0]})) * 86400.0)", [*end[1], *start[1]]


@dataclass
class Percentiles:
    count: int = 0
    p50: float | None = None  # seconds
    p90: float | None = None


@dataclass
class AgentFigures:
    agent_id: int
    name: str
    open: int = 0
    resolved: int = 0
    median_handling: float | None = None  # seconds


@dataclass
class OldestOpen:
    """The oldest open ticket of a queue (or of the whole scope)."""

    ticket_id: int
    reference: str
    created_at: datetime


@dataclass
class QueueAttention:
    """Per queue, what needs a supervisor's attention now."""

    unassigned: int = 0
    late: int = 0  # open tickets past a due date (``sla_late_q``)
    oldest: OldestOpen | None = None


@dataclass
class Dashboard:
    period_start: date
    period_end: date
    queue_ids: list[int] | None
    backlog: dict[int, dict[str, int]] = field(default_factory=dict)  # queue → status → n
    age_buckets: list[tuple[str, str, int]] = field(default_factory=list)
    intake_per_day: list[tuple[date, int]] = field(default_factory=list)
    first_response: Percentiles = field(default_factory=Percentiles)
    resolution: Percentiles = field(default_factory=Percentiles)
    sla_first_response: tuple[int, int] = (0, 0)  # (met, total)
    sla_resolution: tuple[int, int] = (0, 0)
    agents: list[AgentFigures] = field(default_factory=list)
    # What needs attention now (whatever the period): per queue, and today's flow.
    attention: dict[int, QueueAttention] = field(default_factory=dict)
    arrivals_today: int = 0
    resolved_today: int = 0
    computed_at: datetime | None = None

    @property
    def open_total(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.backlog.values())

    @property
    def late_total(self) -> int:
        return sum(queue.late for queue in self.attention.values())

    @property
    def unassigned_total(self) -> int:
        return sum(queue.unassigned for queue in self.attention.values())

    @property
    def oldest(self) -> OldestOpen | None:
        oldest = [q.oldest for q in self.attention.values() if q.oldest is not None]
        return min(oldest, key=lambda o: (o.created_at, o.ticket_id)) if oldest else None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period [start, end] in whole Paris days, as aware datetimes [from, to)."""
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=PARIS),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=PARIS),
    )


def _scoped(queue_ids: list[int] | None) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    return qs.filter(queue_id__in=queue_ids) if queue_ids is not None else qs


def _percentiles(inner: QuerySet, *, group: str | None = None) -> dict:
    """Nearest-rank p50/p90 of ``d`` (seconds) per ``group`` (None = one group)."""
    values = ("d", group) if group else ("d",)
    inner = inner.values(*values)
    sql, params = inner.query.sql_with_params()
    cols = "d, " + (f"{connection.ops.quote_name(group)} AS grp" if group else "0 AS grp")
    query = f"""
        SELECT grp, COUNT(*),
               MIN(CASE WHEN rn >= 0.5 * cnt THEN d END),
               MIN(CASE WHEN rn >= 0.9 * cnt THEN d END)
        FROM (
            SELECT grp, d,
                   ROW_NUMBER() OVER (PARTITION BY grp ORDER BY d) AS rn,
                   COUNT(*) OVER (PARTITION BY grp) AS cnt
            FROM (SELECT {cols} FROM ({sql}) AS src) AS typed
        ) AS ranked
        GROUP BY grp
    """
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {
            row[0]: Percentiles(count=row[1], p50=row[2], p90=row[3]) for row in cursor.fetchall()
        }


def dashboard_compute(
    *, period_start: date, period_end: date, queue_ids: list[int] | None = None
) -> Dashboard:
    now = timezone.now()
    since, until = _bounds(period_start, period_end)
    tickets = _scoped(queue_ids)
    board = Dashboard(period_start=period_start, period_end=period_end, queue_ids=queue_ids)

    # 1. Backlog per queue and status (open tickets), and the unassigned ones: an
    # index-only scan of the partial (queue, status, assignee) index.
    for row in (
        tickets.filter(status__in=OPEN_STATUSES)
        .values("queue_id", "status")
        .annotate(n=Count("*"), unassigned=Count("queue_id", filter=Q(assignee__isnull=True)))
        .order_by()
    ):
        board.backlog.setdefault(row["queue_id"], {})[row["status"]] = row["n"]
        attention = board.attention.setdefault(row["queue_id"], QueueAttention())
        attention.unassigned += row["unassigned"]

    # 2. Age of the open tickets.
    aggregates = {}
    for key, _label, low, high in AGE_BUCKETS:
        condition = Q(created_at__lte=now - low)
        if high is not None:
            condition &= Q(created_at__gt=now - high)
        aggregates[key] = Count("id", filter=condition)
    ages = tickets.filter(status__in=OPEN_STATUSES).aggregate(**aggregates)
    board.age_buckets = [(key, label, ages[key]) for key, label, _l, _h in AGE_BUCKETS]

    # 3. Intake per day (Paris days).
    board.intake_per_day = [
        (row["day"], row["n"])
        for row in tickets.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=PARIS))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    ]

    # 4. First-response and resolution times (p50, p90), over the period.
    first = _percentiles(
        tickets.filter(first_response_at__gte=since, first_response_at__lt=until).annotate(
            d=Seconds(F("first_response_at"), F("created_at"))
        )
    )
    board.first_response = first.get(0, Percentiles())
    resolved_in_period = tickets.filter(resolved_at__gte=since, resolved_at__lt=until)
    resolution = _percentiles(
        resolved_in_period.annotate(d=Seconds(F("resolved_at"), F("created_at")))
    )
    board.resolution = resolution.get(0, Percentiles())

    # 5. SLA attainment, over the period (targets met / targets that fell due).
    answered = Q(first_response_at__gte=since, first_response_at__lt=until)
    resolved = Q(resolved_at__gte=since, resolved_at__lt=until)
    # The WHERE lets the two period indexes serve the scan (a bitmap OR of both).
    sla = tickets.filter(answered | resolved).aggregate(
        fr_total=Count("id", filter=answered & Q(sla_first_response_due__isnull=False)),
        fr_met=Count("id", filter=answered & Q(first_response_at__lte=F("sla_first_response_due"))),
        res_total=Count("id", filter=resolved & Q(sla_resolution_due__isnull=False)),
        res_met=Count("id", filter=resolved & Q(resolved_at__lte=F("sla_resolution_due"))),
    )
    board.sla_first_response = (sla["fr_met"], sla["fr_total"])
    board.sla_resolution = (sla["res_met"], sla["res_total"])

    # 6. Per agent: open now, resolved in the period, median handling time. Two queries,
    # each served by its own index (assignee + status; resolved_at).
    agents: dict[int, AgentFigures] = {}

    def agent(row) -> AgentFigures:
        return agents.setdefault(
            row["assignee_id"],
            AgentFigures(
                agent_id=row["assignee_id"],
                name=f"{row['assignee__first_name']} {row['assignee__last_name']}".strip(),
            ),
        )

    names = ("assignee_id", "assignee__first_name", "assignee__last_name")
    for row in (
        tickets.filter(assignee__isnull=False, status__in=OPEN_STATUSES)
        .values(*names)
        .annotate(n=Count("*"))
        .order_by()
    ):
        agent(row).open = row["n"]
    for row in (
        resolved_in_period.filter(assignee__isnull=False)
        .values(*names)
        .annotate(n=Count("id"))
        .order_by()
    ):
        agent(row).resolved = row["n"]
    handling = _percentiles(
        resolved_in_period.filter(assignee__isnull=False).annotate(
            d=Seconds(F("resolved_at"), F("created_at"))
        ),
        group="assignee_id",
    )
    for agent_id, figures in handling.items():
        if agent_id in agents:
            agents[agent_id].median_handling = figures.p50
    board.agents = sorted(agents.values(), key=lambda a: a.name)

    _attention(board, tickets, now=now, queue_ids=queue_ids)
    board.computed_at = now
    return board


def _attention(
    board: Dashboard, tickets: QuerySet[Ticket], *, now: datetime, queue_ids: list[int] | None
) -> None:
    """What needs attention now: three queries whatever the number of tickets or queues."""
    # 7. Open tickets past a due date, per queue: the open tickets only (partial indexes).
    for row in tickets.filter(sla_late_q(now)).values("queue_id").annotate(n=Count("*")).order_by():
        board.attention.setdefault(row["queue_id"], QueueAttention()).late = row["n"]

    # 8. The oldest open ticket of each queue: one probe of the partial (queue, created_at,
    # id) index per queue, as subqueries of one query over the (few) queues.
    oldest = Ticket.objects.filter(queue_id=OuterRef("pk"), status__in=OPEN_STATUSES).order_by(
        "created_at", "id"
    )
    queues = Queue.objects.all() if queue_ids is None else Queue.objects.filter(pk__in=queue_ids)
    for queue_id, ticket_id, reference, created_at in (
        queues.annotate(
            oldest_id=Subquery(oldest.values("id")[:1]),
            oldest_reference=Subquery(oldest.values("reference")[:1]),
            oldest_created=Subquery(oldest.values("created_at")[:1]),
        )
        .filter(oldest_id__isnull=False)
        .values_list("pk", "oldest_id", "oldest_reference", "oldest_created")
    ):
        board.attention.setdefault(queue_id, QueueAttention()).oldest = OldestOpen(
            ticket_id=ticket_id, reference=reference, created_at=created_at
        )

    # 9. Today's arrivals and resolutions (Paris day): two index ranges, one query.
    today = timezone.localdate(now, PARIS)
    since, _until = _bounds(today, today)
    arrived, resolved = Q(created_at__gte=since), Q(resolved_at__gte=since)
    today_figures = tickets.filter(arrived | resolved).aggregate(
        arrivals=Count("id", filter=arrived), resolved=Count("id", filter=resolved)
    )
    board.arrivals_today = today_figures["arrivals"]
    board.resolved_today = today_figures["resolved"]


def _cache_key(period_start: date, period_end: date, queue_ids: list[int] | None) -> str:
    raw = f"{period_start}:{period_end}:{sorted(queue_ids) if queue_ids is not None else '*'}"
    return "dashboard:v2:" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def dashboard_figures(
    *, period_start: date, period_end: date, queue_ids: list[int] | None = None
) -> Dashboard:
    """The dashboard, from the rollup cache when fresh (beat refreshes the default view)."""
    key = _cache_key(period_start, period_end, queue_ids)
    board = cache.get(key)
    if board is None:
        board = dashboard_compute(
            period_start=period_start, period_end=period_end, queue_ids=queue_ids
        )
        cache.set(key, board, CACHE_SECONDS)
    return board


def default_period(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=29), today


def dashboard_refresh() -> None:
    """Recompute the default view (last 30 days, every queue) into the cache (beat)."""
    start, end = default_period()
    board = dashboard_compute(period_start=start, period_end=end)
    cache.set(_cache_key(start, end, None), board, CACHE_SECONDS * 2)


# --- Queues nobody works on ------------------------------------------------------------

QUEUES_WITHOUT_AGENTS_KEY = "backoffice:queues-without-agents:v1"


@dataclass(frozen=True)
class QueueWithoutAgent:
    pk: int
    slug: str
    name: str


def queues_without_agents() -> list[QueueWithoutAgent]:
    """The queues that hold open tickets and have no active member: nobody sees their
    tickets in a queue of theirs. One query (an index probe per queue), cached a few
    seconds: the supervisors' navigation shows it on every page."""
    found = cache.get(QUEUES_WITHOUT_AGENTS_KEY)
    if found is None:
        members = Queue.members.through.objects.filter(
            queue_id=OuterRef("pk"), user__is_active=True
        )
        open_tickets = Ticket.objects.filter(queue_id=OuterRef("pk"), status__in=OPEN_STATUSES)
        found = [
            QueueWithoutAgent(pk=pk, slug=slug, name=name)
            for pk, slug, name in Queue.objects.filter(Exists(open_tickets), ~Exists(members))
            .order_by("name")
            .values_list("pk", "slug", "name")
        ]
        cache.set(QUEUES_WITHOUT_AGENTS_KEY, found, QUEUE_COUNTS_CACHE_SECONDS)
    return found
