"""Supervisors' routing pages: the routing rules (motif → queue, priority, SLA targets),
who works on which queue, and a preview of where a sample request would go.

Thin: the writes are ``tickets.services.routing_rule_update`` and
``tickets.services.queue_members_set`` (validation and audit there); the preview calls the
intake's own ``route_for_motif`` and ``tickets.business_hours.add_business_time``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from establishments.models import Establishment
from tickets.business_hours import PARIS, add_business_time
from tickets.exceptions import ActionNotAllowed
from tickets.models import (
    Motif,
    Priority,
    Queue,
    RoutingChange,
    RoutingChangeKind,
    RoutingRule,
)
from tickets.services import queue_members_set, route_for_motif, routing_rule_update

from ..decorators import backoffice_required, require_supervisor
from ..forms import QueueMembersForm, RoutingPreviewForm, RoutingRuleForm
from .nav import nav_context

SUPERVISORS_ONLY = "Le routage est réservé aux superviseurs."
HISTORY_SHOWN = 30


@dataclass
class Preview:
    motif_label: str
    queue: Queue
    rule: RoutingRule | None
    priority_label: str
    first_response_hours: int | None
    resolution_hours: int | None
    now: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    siret: str
    establishment: Establishment | None


def _preview(*, motif: str, siret: str) -> Preview:
    route = route_for_motif(motif=motif)
    now = timezone.now().astimezone(PARIS)

    def due(hours):
        return add_business_time(now, timedelta(hours=hours)) if hours else None

    return Preview(
        motif_label=Motif(motif).label,
        queue=route.queue,
        rule=RoutingRule.objects.filter(pk=route.rule_id).first() if route.rule_id else None,
        priority_label=Priority(route.priority).label,
        first_response_hours=route.first_response_hours,
        resolution_hours=route.resolution_hours,
        now=now,
        first_response_due=due(route.first_response_hours),
        resolution_due=due(route.resolution_hours),
        siret=siret,
        establishment=Establishment.objects.filter(siret=siret).first() if siret else None,
    )


FIELD_LABELS = {
    "queue": "file",
    "priority": "priorité",
    "first_response_hours": "première réponse (h ouvrées)",
    "resolution_hours": "résolution (h ouvrées)",
    "is_active": "active",
}


@dataclass
class HistoryRow:
    created_at: datetime
    actor: str
    kind: str
    summary: str


def _value_fr(name: str, value) -> str:
    if name == "priority":
        return str(Priority(value).label) if value in Priority.values else str(value)
    if name == "is_active":
        return "oui" if value else "non"
    return str(value)


def _history() -> list[HistoryRow]:
    rows = []
    changes = RoutingChange.objects.select_related("actor").order_by("-created_at", "-id")
    for change in changes[:HISTORY_SHOWN]:
        data = change.data
        if change.kind == RoutingChangeKind.RULE_UPDATED:
            motif = data.get("motif", "")
            label = Motif(motif).label if motif in Motif.values else motif
            parts = [
                f"{FIELD_LABELS.get(name, name)} : {_value_fr(name, before)} → "
                f"{_value_fr(name, after)}"
                for name, (before, after) in data.get("changes", {}).items()
            ]
            summary = f"{label} — " + " ; ".join(parts)
        else:
            emails = data.get("emails", {})
            added = [emails.get(str(pk), str(pk)) for pk in data.get("added", [])]
            removed = [emails.get(str(pk), str(pk)) for pk in data.get("removed", [])]
            summary = f"File {data.get('queue', '')} — ajoutés : {', '.join(added) or 'aucun'}"
            summary += f" ; retirés : {', '.join(removed) or 'aucun'}"
        rows.append(
            HistoryRow(
                created_at=change.created_at,
                actor=(
                    str(change.actor)
                    if change.actor
                    else f"hors des pages du routage ({data.get('actor_ref', '?')})"
                ),
                kind=str(change.get_kind_display()),
                summary=summary,
            )
        )
    return rows


def _render_home(request, *, preview_form, preview=None):
    return render(
        request,
        "backoffice/routing/home.html",
        {
            **nav_context(request, current="routing"),
            "rules": list(RoutingRule.objects.select_related("queue").order_by("motif")),
            "queues": list(Queue.objects.annotate(member_count=Count("members")).order_by("name")),
            "preview_form": preview_form,
            "preview": preview,
            "history": _history(),
        },
    )


@require_GET
@backoffice_required
def routing_home(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    return _render_home(request, preview_form=RoutingPreviewForm())


@require_GET
@backoffice_required
def routing_preview(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    form = RoutingPreviewForm(request.GET)
    preview = None
    if form.is_valid():
        preview = _preview(motif=form.cleaned_data["motif"], siret=form.cleaned_data["siret"])
    return _render_home(request, preview_form=form, preview=preview)


@require_http_methods(["GET", "POST"])
@backoffice_required
def routing_rule_edit(request, pk):
    require_supervisor(request, SUPERVISORS_ONLY)
    rule = RoutingRule.objects.select_related("queue").filter(pk=pk).first()
    if rule is None:
        raise Http404("Règle de routage introuvable.")
    if request.method == "POST":
        form = RoutingRuleForm(request.POST)
        if form.is_valid():
            try:
                routing_rule_update(rule=rule, actor=request.user, **form.cleaned_data)
            except ActionNotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Règle « %(motif)s » enregistrée.") % {"motif": rule.get_motif_display()},
                )
                return redirect("backoffice:routing")
    else:
        form = RoutingRuleForm(
            initial={
                "queue": rule.queue_id,
                "priority": rule.priority,
                "first_response_hours": rule.first_response_hours,
                "resolution_hours": rule.resolution_hours,
                "is_active": rule.is_active,
            }
        )
    return render(
        request,
        "backoffice/routing/rule_edit.html",
        {**nav_context(request, current="routing"), "rule": rule, "form": form},
    )


@require_http_methods(["GET", "POST"])
@backoffice_required
def routing_queue_members(request, slug):
    require_supervisor(request, SUPERVISORS_ONLY)
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise Http404("File introuvable.")
    if request.method == "POST":
        form = QueueMembersForm(request.POST)
        if form.is_valid():
            try:
                result = queue_members_set(
                    queue=queue,
                    actor=request.user,
                    user_ids=[user.pk for user in form.cleaned_data["members"]],
                )
            except ActionNotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Agents de la file « %(queue)s » enregistrés "
                        "(%(added)s ajouté(s), %(removed)s retiré(s))."
                    )
                    % {
                        "queue": queue.name,
                        "added": len(result["added"]),
                        "removed": len(result["removed"]),
                    },
                )
                return redirect("backoffice:routing")
    else:
        members = list(queue.members.values_list("pk", flat=True))
        form = QueueMembersForm(initial={"members": members})
    return render(
        request,
        "backoffice/routing/queue_members.html",
        {**nav_context(request, current="routing"), "queue": queue, "form": form},
    )
