"""Supervisors' pages for canned replies ("réponses types"): the list by queue and motif,
create, edit, deactivate. Thin: the writes are ``tickets.services.canned`` (placeholder
checks there); agents insert them on the ticket page (``views.tickets``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.canned import PLACEHOLDERS
from tickets.exceptions import ActionNotAllowed
from tickets.models import CannedReply, Motif, Queue
from tickets.selectors import canned_replies_for_management
from tickets.services import (
    canned_reply_create,
    canned_reply_set_active,
    canned_reply_update,
)

from ..decorators import backoffice_required, require_supervisor
from ..forms import CannedReplyEditForm, CannedReplyForm
from .nav import nav_context

SUPERVISORS_ONLY = "Les réponses types sont gérées par les superviseurs."


NAV = "canned_replies"


def _canned_reply_or_404(pk) -> CannedReply:
    canned = CannedReply.objects.select_related("queue").filter(pk=pk).first()
    if canned is None:
        raise Http404("Réponse type introuvable.")
    return canned


@require_GET
@backoffice_required
def canned_reply_list(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    queues = list(Queue.objects.order_by("name"))
    slug = request.GET.get("file", "")
    queue = next((q for q in queues if q.slug == slug), None)
    motif = request.GET.get("motif")
    if motif is not None and motif not in ("", *Motif.values):
        motif = None
    rows = list(canned_replies_for_management(queue_id=queue.pk if queue else None, motif=motif))
    return render(
        request,
        "backoffice/canned_replies/list.html",
        {
            **nav_context(request, current=NAV),
            "rows": rows,
            "queues": queues,
            "selected_queue": queue,
            "motifs": Motif.choices,
            "selected_motif": motif,
        },
    )


def _form_page(request, *, form, canned=None, status=200):
    return render(
        request,
        "backoffice/canned_replies/form.html",
        {
            **nav_context(request, current=NAV),
            "form": form,
            "canned": canned,
            "placeholders": [("{" + name + "}", text) for name, text in PLACEHOLDERS.items()],
        },
        status=status,
    )


def _values(form) -> dict:
    data = form.cleaned_data
    return {
        "queue": data["queue"],
        "motif": data["motif"],
        "title": data["title"],
        "body": data["body"],
    }


@require_http_methods(["GET", "POST"])
@backoffice_required
def canned_reply_create_view(request):
    require_supervisor(request, SUPERVISORS_ONLY)
    if request.method == "POST":
        form = CannedReplyForm(request.POST)
        if form.is_valid():
            try:
                canned = canned_reply_create(actor=request.user, **_values(form))
            except ActionNotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, _("Réponse type « %(title)s » créée.") % {"title": canned.title}
                )
                return redirect(_list_url(canned))
        return _form_page(request, form=form, status=400)
    initial = {}
    queue = Queue.objects.filter(slug=request.GET.get("file", "")).first()
    if queue is not None:
        initial["queue"] = queue.pk
    if request.GET.get("motif") in Motif.values:
        initial["motif"] = request.GET["motif"]
    return _form_page(request, form=CannedReplyForm(initial=initial))


def _list_url(canned: CannedReply) -> str:
    return f"{reverse('backoffice:canned_replies')}?file={canned.queue.slug}"


@require_http_methods(["GET", "POST"])
@backoffice_required
def canned_reply_edit_view(request, pk):
    require_supervisor(request, SUPERVISORS_ONLY)
    canned = _canned_reply_or_404(pk)
    if request.method == "POST":
        form = CannedReplyEditForm(request.POST)
        if form.is_valid():
            try:
                canned = canned_reply_update(
                    canned_reply=canned,
                    actor=request.user,
                    is_active=form.cleaned_data["is_active"],
                    **_values(form),
                )
            except ActionNotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Réponse type « %(title)s » enregistrée.") % {"title": canned.title},
                )
                return redirect(_list_url(canned))
        return _form_page(request, form=form, canned=canned, status=400)
    form = CannedReplyEditForm(
        initial={
            "queue": canned.queue_id,
            "motif": canned.motif,
            "title": canned.title,
            "body": canned.body,
            "is_active": canned.is_active,
        }
    )
    return _form_page(request, form=form, canned=canned)


@require_POST
@backoffice_required
def canned_reply_deactivate_view(request, pk):
    require_supervisor(request, SUPERVISORS_ONLY)
    canned = _canned_reply_or_404(pk)
    try:
        canned_reply_set_active(canned_reply=canned, actor=request.user, is_active=False)
    except ActionNotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(
        request,
        _(
            "Réponse type « %(title)s » désactivée : elle n'est plus proposée aux agents "
            "(réactivable depuis sa page)."
        )
        % {"title": canned.title},
    )
    return redirect(_list_url(canned))
