"""Saved views ("vues enregistrées") of the ticket lists: save the current filters and sort
under a name, open, rename, delete, share with a queue. The list itself is the queue
pages' (``queues._render_list``) with the view's parameters."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import selectors
from tickets.exceptions import TicketNotFound

from ..decorators import backoffice_required
from ..savedviews.forms import SavedViewNameForm
from ..savedviews.models import SavedView, SavedViewScope
from ..savedviews.selectors import saved_view_get_for_user, saved_view_query
from ..savedviews.services import (
    SavedViewForbidden,
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
    saved_view_share,
)
from .queues import _queue_or_404, _render_list

LISTS = {
    SavedViewScope.MINE: ("Mes tickets", "backoffice:my_tickets", "backoffice:my_tickets_export"),
    SavedViewScope.UNASSIGNED: (
        "Tickets non assignés",
        "backoffice:unassigned",
        "backoffice:unassigned_export",
    ),
}


def _list_of(scope: str, queue) -> tuple[str, str, tuple[str, list]]:
    """(title, URL, export) of the list a view is taken from."""
    if scope == SavedViewScope.QUEUE:
        return (
            queue.name,
            reverse("backoffice:queue", args=[queue.slug]),
            ("backoffice:queue_export", [queue.slug]),
        )
    title, url_name, export_name = LISTS[SavedViewScope(scope)]
    return title, reverse(url_name), (export_name, [])


def _view_or_404(request, pk: int) -> SavedView:
    try:
        return saved_view_get_for_user(user=request.user, pk=pk)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc


def _render_view(request, view: SavedView, *, rename_form=None):
    # The page's own links (sort, pages, filters) carry every parameter: with any, they
    # are the list's; without, the view's saved ones apply.
    params = request.GET if request.GET else saved_view_query(view)
    _title, base_url, export = _list_of(view.scope, view.queue)
    return _render_list(
        request,
        scope=view.scope,
        queue=view.queue,
        title=view.name,
        current=f"view:{view.pk}",
        export=export,
        params=params,
        base_url=base_url,
        saved_view=view,
        rename_form=rename_form,
    )


@require_GET
@backoffice_required
def saved_view(request, pk):
    return _render_view(request, _view_or_404(request, pk))


@require_POST
@backoffice_required
def saved_view_create_view(request):
    scope = request.POST.get("scope", "")
    if scope not in SavedViewScope.values:
        raise Http404
    queue = _queue_or_404(request, request.POST.get("queue", "")) if scope == "queue" else None
    query = QueryDict(request.POST.get("query", ""))
    form = SavedViewNameForm(request.POST, owner=request.user, auto_id="save-view-%s")
    if form.is_valid():
        view = saved_view_create(
            owner=request.user,
            name=form.cleaned_data["name"],
            scope=scope,
            queue=queue,
            query=query,
        )
        messages.success(request, _("Vue « %(name)s » enregistrée.") % {"name": view.name})
        return redirect("backoffice:saved_view", pk=view.pk)
    # The list as it was, with the error next to the typed name.
    title, base_url, export = _list_of(scope, queue)
    return _render_list(
        request,
        scope=scope,
        queue=queue,
        title=title,
        current=f"queue:{queue.slug}" if queue else scope,
        export=export,
        params=query,
        path=base_url,
        save_form=form,
    )


@require_POST
@backoffice_required
def saved_view_rename_view(request, pk):
    view = _view_or_404(request, pk)
    if view.owner_id != request.user.pk:
        raise PermissionDenied(_("Seul l'auteur de cette vue peut la modifier."))
    form = SavedViewNameForm(
        request.POST, owner=request.user, instance=view, auto_id="rename-view-%s"
    )
    if not form.is_valid():
        return _render_view(request, view, rename_form=form)
    saved_view_rename(view=view, actor=request.user, name=form.cleaned_data["name"])
    messages.success(request, _("Vue renommée « %(name)s ».") % {"name": view.name})
    return redirect("backoffice:saved_view", pk=view.pk)


@require_POST
@backoffice_required
def saved_view_delete_view(request, pk):
    view = _view_or_404(request, pk)
    _title, base_url, _export = _list_of(view.scope, view.queue)
    try:
        saved_view_delete(view=view, actor=request.user)
    except SavedViewForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("Vue « %(name)s » supprimée.") % {"name": view.name})
    return redirect(base_url)


@require_POST
@backoffice_required
def saved_view_share_view(request, pk):
    view = _view_or_404(request, pk)
    slug = request.POST.get("queue", "")
    try:
        queue = selectors.queue_get_for_user(user=request.user, slug=slug) if slug else None
        saved_view_share(view=view, actor=request.user, queue=queue)
    except SavedViewForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except TicketNotFound as exc:
        messages.error(request, exc.message)
        return redirect("backoffice:saved_view", pk=view.pk)
    if queue is None:
        messages.success(request, _("Cette vue n'est plus partagée."))
    else:
        messages.success(
            request,
            _("Vue partagée avec la file « %(queue)s » : ses agents la voient, sans la modifier.")
            % {"queue": queue.name},
        )
    return redirect("backoffice:saved_view", pk=view.pk)
