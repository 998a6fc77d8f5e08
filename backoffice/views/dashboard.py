"""The supervisors' dashboard: the figures of ``backoffice.dashboard`` for a period and a
queue, as SVG bar charts each with its data table, refreshed by htmx, exported as CSV.

Thin: the figures are computed (and cached) by ``backoffice.dashboard``; this module only
shapes them for the page and the CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.extranet.risk import SIGNALS
from accounts.extranet.selectors import reassignment_signal_counts, reassignments_open_counts
from tickets.models import OPEN_STATUSES, Status
from tickets.selectors import queues_for_user

from ..charts import horizontal_bars, vertical_bars
from ..dashboard import (
    CACHE_SECONDS,
    Dashboard,
    OldestOpen,
    QueueAttention,
    dashboard_figures,
    default_period,
    queues_without_agents,
)
from ..decorators import backoffice_required, require_supervisor
from ..export import neutralise
from ..forms import DashboardFilterForm
from .nav import nav_context

SUPERVISORS_ONLY = "Le tableau de bord est réservé aux superviseurs."


def duration_fr(seconds: float | None) -> str:
    """A duration in hours and minutes, in French: "3 h 05 min", "45 min", "—"."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes:02d} min"


def percent_fr(met: int, total: int) -> str:
    """ "80,0 %" (with a non-breaking space), "—" when nothing fell due."""
    if not total:
        return "—"
    return f"{met * 100 / total:.1f}".replace(".", ",") + "\u00a0%"


def number_fr(n: int) -> str:
    """ "12 345" with a narrow non-breaking space, as French writes thousands."""
    return f"{n:,}".replace(",", "\u202f")


@dataclass
class BacklogRow:
    name: str
    by_status: list[int]
    total: int
    slug: str | None = None
    unassigned: int = 0
    late: int = 0
    oldest: OldestOpen | None = None
    oldest_age: str = ""
    without_agent: bool = False


@dataclass
class Tile:
    """A headline figure: its label, value, a detail line and the list it summarises."""

    key: str
    label: str
    value: str
    detail: str = ""
    url: str = ""
    warning: bool = False


def age_fr(seconds: float) -> str:
    """The age of a ticket in its largest unit, in French: "10 jours", "1 jour", "5 h",
    "45 min"."""
    minutes = max(int(seconds // 60), 0)
    if minutes < 60:
        return f"{minutes}\u00a0min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}\u00a0h"
    days = hours // 24
    return f"{days}\u00a0jour{'s' if days > 1 else ''}"


def _age(created_at) -> str:
    return age_fr((timezone.now() - created_at).total_seconds())


@dataclass
class AgentRow:
    name: str
    open: int
    resolved: int
    median_handling: str


def _backlog_row(queue, name: str, counts: dict, attention: QueueAttention | None) -> BacklogRow:
    by_status = [counts.get(status, 0) for status in OPEN_STATUSES]
    attention = attention or QueueAttention()
    return BacklogRow(
        name=name,
        by_status=by_status,
        total=sum(by_status),
        slug=queue.slug if queue is not None else None,
        unassigned=attention.unassigned,
        late=attention.late,
        oldest=attention.oldest,
        oldest_age=_age(attention.oldest.created_at) if attention.oldest else "",
    )


def _shape(board: Dashboard, queues: list) -> dict:
    """The dashboard as the page and the CSV show it."""
    names = {queue.pk: queue.name for queue in queues}
    shown = [queue for queue in queues if board.queue_ids is None or queue.pk in board.queue_ids]
    backlog = []
    for queue in shown:
        counts = board.backlog.get(queue.pk, {})
        backlog.append(_backlog_row(queue, queue.name, counts, board.attention.get(queue.pk)))
    for queue_id, counts in board.backlog.items():  # a queue the actor does not list
        if queue_id not in {queue.pk for queue in shown}:
            name = names.get(queue_id, f"File {queue_id}")
            backlog.append(_backlog_row(None, name, counts, board.attention.get(queue_id)))
    status_totals = [sum(row.by_status[i] for row in backlog) for i in range(len(OPEN_STATUSES))]
    without_agent = queues_without_agents()
    without_agent_ids = {queue.pk for queue in without_agent}
    by_slug = {queue.slug: queue.pk for queue in shown}
    for row in backlog:
        row.without_agent = row.slug is not None and by_slug.get(row.slug) in without_agent_ids

    intake_by_day = dict(board.intake_per_day)
    days = []
    day = board.period_start
    while day <= board.period_end:
        days.append((day, intake_by_day.get(day, 0)))
        day += timedelta(days=1)

    fr_met, fr_total = board.sla_first_response
    res_met, res_total = board.sla_resolution
    return {
        "board": board,
        "statuses": [Status(status).label for status in OPEN_STATUSES],
        "backlog": backlog,
        "backlog_status_totals": status_totals,
        "backlog_total": sum(status_totals),
        "backlog_unassigned": sum(row.unassigned for row in backlog),
        "backlog_late": sum(row.late for row in backlog),
        "queues_without_agents": [
            queue
            for queue in without_agent
            if board.queue_ids is None or queue.pk in board.queue_ids
        ],
        "backlog_chart": horizontal_bars(
            "Tickets ouverts par file", [(row.name, row.total) for row in backlog]
        ),
        "ages": [(label, n) for _key, label, n in board.age_buckets],
        "ages_chart": horizontal_bars(
            "Âge des tickets ouverts", [(label, n) for _key, label, n in board.age_buckets]
        ),
        "intake": days,
        "intake_total": sum(n for _day, n in days),
        "intake_chart": vertical_bars(
            "Demandes reçues par jour", [(day.strftime("%d/%m/%Y"), n) for day, n in days]
        ),
        "times": [
            (
                "Première réponse",
                board.first_response.count,
                duration_fr(board.first_response.p50),
                duration_fr(board.first_response.p90),
            ),
            (
                "Résolution",
                board.resolution.count,
                duration_fr(board.resolution.p50),
                duration_fr(board.resolution.p90),
            ),
        ],
        "sla": [
            ("Première réponse", fr_met, fr_total, percent_fr(fr_met, fr_total)),
            ("Résolution", res_met, res_total, percent_fr(res_met, res_total)),
        ],
        "agents": [
            AgentRow(
                name=a.name,
                open=a.open,
                resolved=a.resolved,
                median_handling=duration_fr(a.median_handling),
            )
            for a in board.agents
        ],
    }


def _figures(request) -> tuple[DashboardFilterForm, dict, str]:
    queues = queues_for_user(request.user)
    form = DashboardFilterForm(request.GET or None, queues=queues, default_period=default_period())
    start, end, queue = form.period()
    board = dashboard_figures(
        period_start=start, period_end=end, queue_ids=[queue.pk] if queue else None
    )
    context = _shape(board, queues)
    context["reassignments"], counts = _reassignment_figures(request.user)
    context["reassignment_signals"] = [
        {"label": s.label, "explanation": s.explanation, "count": counts[s.code]} for s in SIGNALS
    ]
    context["tiles"] = _tiles(board, context, queue)
    query = (
        {"date_from": start.isoformat(), "date_to": end.isoformat(), "queue": queue.pk}
        if queue
        else {"date_from": start.isoformat(), "date_to": end.isoformat()}
    )
    return form, context, urlencode(query)


def _reassignment_figures(user) -> tuple[dict[str, int], dict[str, int]]:
    """The reassignments awaiting approval or objection, and per risk signal how many of
    those awaiting approval carry it: two queries over the reassignments, cached as long
    as the ticket figures (the page says they are refreshed every minute; the navigation
    badge, which must follow the supervisor's own decisions, is not cached)."""
    key = f"dashboard:reassignments:v1:{user.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = (
            reassignments_open_counts(actor=user),
            # Per risk signal, how many changes awaiting approval carry it (in SQL).
            reassignment_signal_counts(actor=user),
        )
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _tiles(board: Dashboard, context: dict, queue) -> list[Tile]:
    """The headline figures, each linked to the list it summarises where one exists (a
    queue page with its filters when the dashboard shows one queue; else the per-queue
    table below, whose cells link to each queue's filtered list)."""
    queue_url = reverse("backoffice:queue", args=[queue.slug]) if queue else ""
    oldest = board.oldest
    awaiting = context["reassignments"]["prepared"]
    unassigned = board.unassigned_total
    return [
        Tile(
            key="open",
            label="Tickets ouverts",
            value=number_fr(board.open_total),
            detail=f"dont {number_fr(unassigned)} non assigné{'s' if unassigned > 1 else ''}",
            url=queue_url or "#dash-queues",
        ),
        Tile(
            key="oldest",
            label="Plus ancien ticket ouvert",
            value=_age(oldest.created_at) if oldest else "—",
            detail=(
                f"{oldest.reference}, reçu le {timezone.localtime(oldest.created_at):%d/%m/%Y}"
                if oldest
                else "Aucun ticket ouvert"
            ),
            url=reverse("backoffice:ticket_detail", args=[oldest.ticket_id]) if oldest else "",
        ),
        Tile(
            key="late",
            label="Hors délai",
            value=number_fr(board.late_total),
            detail="tickets ouverts, échéance dépassée",
            url=f"{queue_url}?sla=late" if queue_url else "#dash-queues",
            warning=board.late_total > 0,
        ),
        Tile(
            key="arrivals",
            label="Reçus aujourd'hui",
            value=number_fr(board.arrivals_today),
            detail="demandes arrivées depuis minuit",
        ),
        Tile(
            key="resolved",
            label="Résolus aujourd'hui",
            value=number_fr(board.resolved_today),
            detail="tickets résolus depuis minuit",
        ),
        Tile(
            key="approvals",
            label="Réattributions à approuver",
            value=number_fr(awaiting),
            detail="en attente d'un superviseur",
            url=reverse("backoffice:reassignment_list"),
            warning=awaiting > 0,
        ),
    ]


@require_GET
@backoffice_required
def dashboard(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    form, context, query = _figures(request)
    context.update(
        form=form,
        figures_url=f"{reverse('backoffice:dashboard')}?{query}",
        export_url=f"{reverse('backoffice:dashboard_export')}?{query}",
        reassignment_list_url=reverse("backoffice:reassignment_list"),
    )
    if request.headers.get("HX-Request") == "true":
        response = render(request, "backoffice/dashboard/_figures.html", context)
    else:
        context.update(nav_context(request, current="dashboard"))
        response = render(request, "backoffice/dashboard/page.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _csv_rows(context: dict, start: date, end: date) -> list[list]:
    board = context["board"]
    rows: list[list] = [
        ["Tableau de bord du support"],
        ["Période", f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"],
        ["Calculé le", board.computed_at],
        [],
        ["Tickets ouverts par file et par statut"],
        ["File", *context["statuses"], "Total"],
        *[[row.name, *row.by_status, row.total] for row in context["backlog"]],
        ["Total", *context["backlog_status_totals"], context["backlog_total"]],
        [],
        ["Âge des tickets ouverts"],
        ["Ancienneté", "Tickets"],
        *[[label, n] for label, n in context["ages"]],
        [],
        ["Demandes reçues par jour"],
        ["Jour", "Demandes"],
        *[[f"{day:%d/%m/%Y}", n] for day, n in context["intake"]],
        ["Total", context["intake_total"]],
        [],
        ["Délais (heures calendaires)"],
        ["Délai", "Tickets", "Médiane (p50)", "9e décile (p90)"],
        *[list(row) for row in context["times"]],
        [],
        ["Respect des délais cibles (SLA)"],
        ["Délai", "Dans les délais", "Échus", "Taux"],
        *[list(row) for row in context["sla"]],
        [],
        ["Par agent"],
        ["Agent", "Ouverts", "Résolus sur la période", "Durée médiane de traitement"],
        *[[a.name, a.open, a.resolved, a.median_handling] for a in context["agents"]],
        [],
        ["Réattributions de comptes"],
        ["État", "Nombre"],
        ["En attente de validation", context["reassignments"]["prepared"]],
        ["Validées, délai d'opposition en cours", context["reassignments"]["approved"]],
    ]
    return rows


@require_GET
@backoffice_required
def dashboard_export(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    form, context, _query = _figures(request)
    board = context["board"]
    buffer = io.StringIO()
    buffer.write("\ufeff")  # BOM: spreadsheet software then reads the file as UTF-8.
    writer = csv.writer(buffer, delimiter=";")
    for row in _csv_rows(context, board.period_start, board.period_end):
        writer.writerow([neutralise(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="tableau-de-bord-{stamp}.csv"'
    return response
