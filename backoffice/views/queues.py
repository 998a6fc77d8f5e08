"""Ticket lists: one page per queue, "mes tickets", "non assignés"; their exports; bulk
actions; "prendre le ticket suivant"."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.staff.models import User
from tickets import selectors
from tickets.exceptions import TicketError, TicketNotFound
from tickets.models import Status
from tickets.services import ticket_bulk_assign, ticket_bulk_change_status, ticket_take_next

from ..decorators import backoffice_required
from ..export import export_csv, export_xlsx
from ..filters import TicketFilter, filter_fields
from ..forms import BulkForm
from ..savedviews.forms import SavedViewNameForm
from ..tables import OPTIONAL_COLUMNS, SORTABLE_COLUMNS, TicketTable
from .nav import nav_context

EXPORTS = {"csv": export_csv, "xlsx": export_xlsx}
# The optional columns the agent hid, kept in their session (no query to read them).
HIDDEN_COLUMNS_SESSION_KEY = "backoffice:hidden-columns"
DEFAULT_HIDDEN_COLUMNS = ("updated_at",)


def hidden_columns(request) -> set[str]:
    hidden = request.session.get(HIDDEN_COLUMNS_SESSION_KEY)
    if not isinstance(hidden, list):
        hidden = list(DEFAULT_HIDDEN_COLUMNS)
    return {name for name in hidden if name in OPTIONAL_COLUMNS}


@require_GET
@backoffice_required
def home(request):
    # Supervisors land on their dashboard (what needs attention); agents on their work.
    if request.user.is_supervisor:
        return redirect("backoffice:dashboard")
    queues = selectors.queues_for_user(request.user)
    if len(queues) == 1:
        return redirect("backoffice:queue", slug=queues[0].slug)
    return redirect("backoffice:my_tickets")


def _list_context(
    request, *, scope: str, queue=None, params: QueryDict | None = None
) -> tuple[TicketFilter, object]:
    params = request.GET if params is None else params
    base = selectors.ticket_list_qs(user=request.user, scope=scope, queue=queue)
    filterset = TicketFilter(params or None, queryset=base, request=request)
    # An invalid filter value shows the form error and the unfiltered list.
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    if not filterset.is_bound or not filterset.is_valid():
        qs = qs.filter(status__in=selectors.OPEN_STATUSES)
    return filterset, qs


def _sort_links(params: QueryDict, current: str, descending: bool, path: str) -> dict[str, dict]:
    links = {}
    for column, key in SORTABLE_COLUMNS.items():
        query = params.copy()
        for name in ("after", "before"):
            query.pop(name, None)
        active = key == current
        query["sort"] = ("" if active and descending else "-") + key if active else key
        links[column] = {
            "url": path + "?" + query.urlencode(),
            "active": active,
            "descending": active and descending,
        }
    return links


def _page_link(params: QueryDict, name: str, cursor: str | None, path: str) -> str | None:
    if cursor is None:
        return None
    query = params.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    query[name] = cursor
    return path + "?" + query.urlencode()


def _without_cursors(params: QueryDict) -> QueryDict:
    query = params.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return query


def _render_list(
    request,
    *,
    scope: str,
    title: str,
    current: str,
    export: tuple[str, list],
    queue=None,
    params: QueryDict | None = None,
    base_url: str | None = None,
    path: str | None = None,
    saved_view=None,
    save_form=None,
    rename_form=None,
):
    params = request.GET if params is None else params
    # Links are relative ("?…") unless the page answers a POST (then to the list's URL).
    path = "" if path is None else path
    filterset, qs = _list_context(request, scope=scope, queue=queue, params=params)
    page = selectors.ticket_page(
        qs,
        sort=params.get("sort"),
        after=params.get("after"),
        before=params.get("before"),
    )
    count, more = selectors.capped_count(qs)
    hidden = hidden_columns(request)
    exclude = {name for name in hidden if name in OPTIONAL_COLUMNS}
    if scope == selectors.SCOPE_QUEUE:
        exclude.add("queue")
    table = TicketTable(page.rows, now=timezone.now(), exclude=tuple(sorted(exclude)))
    sort_links = _sort_links(params, page.sort, page.descending, path)
    headers = [
        (column.header, sort_links.get(column.name), column.name) for column in table.columns
    ]
    export_name, export_args = export
    first_params = _without_cursors(params)
    view_query = _without_cursors(params)
    if "sort" not in view_query:
        view_query["sort"] = page.sort_param
    context = {
        **nav_context(request, current=current),
        "title": title,
        "queue": queue,
        "scope": scope,
        "filter": filterset,
        "table": table,
        "rows": table.rows_html(),
        "filter_fields": filter_fields(filterset.form),
        "filter_errors": bool(filterset.is_bound and filterset.form.errors),
        "page": page,
        "count": selectors.format_count(count, more),
        "headers": headers,
        "next_url": _page_link(params, "after", page.next_cursor, path),
        "previous_url": _page_link(params, "before", page.previous_cursor, path),
        "first_url": path + "?" + first_params.urlencode() if page.previous_cursor else None,
        "export_query": params.urlencode(),
        "export_csv_url": reverse(export_name, args=[*export_args, "csv"]),
        "export_xlsx_url": reverse(export_name, args=[*export_args, "xlsx"]),
        "assignees": selectors.assignable_users(user=request.user),
        "statuses": Status.choices,
        "list_url": path + "?" + params.urlencode() if path else request.get_full_path(),
        "clear_url": base_url or path or "?",
        "form_action": path or request.path,
        "view_query": view_query.urlencode(),
        "saved_view": saved_view,
        "save_form": save_form or SavedViewNameForm(owner=request.user, auto_id="save-view-%s"),
        "rename_form": rename_form
        or (
            SavedViewNameForm(
                owner=request.user,
                instance=saved_view,
                initial={"name": saved_view.name},
                auto_id="rename-view-%s",
            )
            if saved_view is not None and saved_view.owner_id == request.user.pk
            else None
        ),
        "share_queues": (
            selectors.queues_for_user(request.user)
            if saved_view is not None
            and saved_view.owner_id == request.user.pk
            and request.user.is_supervisor
            else None
        ),
        "columns": [
            (name, label, name not in hidden)
            for name, label in OPTIONAL_COLUMNS.items()
            if not (name == "queue" and scope == selectors.SCOPE_QUEUE)
        ],
    }
    return render(request, "backoffice/queues/list.html", context)


def _export(request, *, scope: str, fmt: str, stem: str, queue=None):
    if fmt not in EXPORTS:
        raise Http404
    _filterset, qs = _list_context(request, scope=scope, queue=queue)
    return EXPORTS[fmt](qs, stem=stem)


def _queue_or_404(request, slug: str):
    try:
        return selectors.queue_get_for_user(user=request.user, slug=slug)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@backoffice_required
def queue_detail(request, slug):
    queue = _queue_or_404(request, slug)
    return _render_list(
        request,
        scope=selectors.SCOPE_QUEUE,
        queue=queue,
        title=queue.name,
        current=f"queue:{queue.slug}",
        export=("backoffice:queue_export", [queue.slug]),
    )


@require_GET
@backoffice_required
def queue_export(request, slug, fmt):
    queue = _queue_or_404(request, slug)
    return _export(request, scope=selectors.SCOPE_QUEUE, queue=queue, fmt=fmt, stem=queue.slug)


@require_GET
@backoffice_required
def my_tickets(request):
    return _render_list(
        request,
        scope=selectors.SCOPE_MINE,
        title="Mes tickets",
        current="mine",
        export=("backoffice:my_tickets_export", []),
    )


@require_GET
@backoffice_required
def my_tickets_export(request, fmt):
    return _export(request, scope=selectors.SCOPE_MINE, fmt=fmt, stem="mes-tickets")


@require_GET
@backoffice_required
def unassigned(request):
    return _render_list(
        request,
        scope=selectors.SCOPE_UNASSIGNED,
        title="Tickets non assignés",
        current="unassigned",
        export=("backoffice:unassigned_export", []),
    )


@require_GET
@backoffice_required
def unassigned_export(request, fmt):
    return _export(request, scope=selectors.SCOPE_UNASSIGNED, fmt=fmt, stem="non-assignes")


@require_POST
@backoffice_required
def queue_take_next(request, slug):
    queue = _queue_or_404(request, slug)
    try:
        ticket = ticket_take_next(queue=queue, actor=request.user)
    except TicketError as exc:
        messages.warning(request, exc.message)
        return redirect("backoffice:queue", slug=queue.slug)
    selectors.queue_counts_forget(user=request.user)
    messages.success(
        request, _("Le ticket %(reference)s vous est assigné.") % {"reference": ticket.reference}
    )
    return redirect("backoffice:ticket_detail", pk=ticket.pk)


@require_POST
@backoffice_required
def tickets_bulk(request):
    form = BulkForm(data=request.POST)
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("backoffice:home")
    if not form.is_valid():
        messages.error(request, _("Action groupée invalide."))
        return redirect(back)
    ids = form.ticket_ids()
    try:
        if form.cleaned_data["action"] == "assign":
            raw = form.cleaned_data["assignee"]
            if raw == "none":
                assignee = None
            elif raw == "me":
                assignee = request.user
            elif raw.isdigit():
                assignee = User.objects.filter(pk=int(raw)).first()
                if assignee is None:
                    raise TicketNotFound(_("Cet agent n'existe pas."))
            else:
                raise TicketNotFound(_("Choisissez un agent."))
            done = ticket_bulk_assign(ticket_ids=ids, actor=request.user, assignee=assignee)
        else:
            done = ticket_bulk_change_status(
                ticket_ids=ids, actor=request.user, new_status=form.cleaned_data["status"]
            )
    except TicketError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    selectors.queue_counts_forget(user=request.user)
    messages.success(request, _("%(count)s ticket(s) mis à jour.") % {"count": len(done)})
    return redirect(back)


@require_POST
@backoffice_required
def list_columns(request):
    """The columns the agent shows: the optional columns not ticked are hidden, on every
    list, for the rest of the session."""
    shown = set(request.POST.getlist("columns"))
    # A queue page has no "File" column to offer: keep that choice as it was.
    keep = set(request.POST.getlist("keep"))
    previous = hidden_columns(request)
    hidden = [
        name
        for name in OPTIONAL_COLUMNS
        if (name in keep and name in previous) or (name not in keep and name not in shown)
    ]
    request.session[HIDDEN_COLUMNS_SESSION_KEY] = hidden
    messages.success(request, _("Colonnes affichées enregistrées."))
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("backoffice:home")
    return redirect(back)
