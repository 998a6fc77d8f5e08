"""The agents' incident-notice pages ("Bandeaux"): list, create, edit, preview, schedule,
unschedule, publish now, withdraw, and reply to and resolve the linked tickets at once.
Any back-office user (agent, supervisor, admin) manages notices; every write goes through
backoffice.notices.services, whose French refusals are shown as messages."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.exceptions import TicketError
from tickets.models import Motif

from ..decorators import backoffice_required
from ..notices import selectors
from ..notices.exceptions import NoticeError
from ..notices.forms import NoticeForm, NoticeResolveForm, NoticeWindowForm
from ..notices.models import NOTICE_TRANSITIONS, IncidentNotice, NoticeLevel, NoticeState
from ..notices.services import (
    notice_create,
    notice_publish_now,
    notice_resolve_linked_tickets,
    notice_schedule_at,
    notice_unschedule,
    notice_update,
    notice_withdraw,
)
from .nav import nav_context

PAGE_SIZE = 50

EVENT_LABELS = {
    "created": "Création",
    "updated": "Modification",
    "scheduled": "Programmation",
    "unscheduled": "Déprogrammation",
    "published": "Publication",
    "expired": "Expiration",
    "withdrawn": "Retrait",
    "linked_tickets_resolved": "Réponse groupée aux tickets rattachés",
}


def _notice_or_404(pk: int) -> IncidentNotice:
    notice = selectors.notices_for_agents().filter(pk=pk).first()
    if notice is None:
        raise Http404("Ce bandeau n'existe pas.")
    return notice


def _context(request, **extra) -> dict:
    return {**nav_context(request, current="notices"), **extra}


def _errors(form) -> str:
    return "; ".join(str(e) for errs in form.errors.values() for e in errs)


def _preview_item(form) -> dict:
    """What the public banner would show for the values typed in the form (valid or not
    yet): the same fields the live-notices selector hands to the banner template."""
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    level = form.data.get("level", "")
    return {
        "title": cleaned.get("title", form.data.get("title", "")),
        "text": cleaned.get("text", form.data.get("text", "")),
        "level": level if level in NoticeLevel.values else NoticeLevel.INFO,
        "link": cleaned.get("link") or None,
    }


def _item(notice: IncidentNotice) -> dict:
    return {
        "title": notice.title,
        "text": notice.text,
        "level": notice.level,
        "link": notice.link or None,
    }


@require_GET
@backoffice_required
def notice_list(request):
    state = request.GET.get("etat", "")
    if state not in NoticeState.values:
        state = ""
    page = Paginator(selectors.notices_for_agents_list(state=state or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    notices = list(page.object_list)
    last_events = selectors.notice_last_events(notices)
    counts = selectors.notice_state_counts()
    rows = [
        (
            notice,
            last_events.get(notice.pk),
            EVENT_LABELS.get(getattr(last_events.get(notice.pk), "kind", ""), ""),
        )
        for notice in notices
    ]
    context = _context(
        request,
        rows=rows,
        page=page,
        state=state,
        states=[(value, label, counts[value]) for value, label in NoticeState.choices],
        total=sum(counts.values()),
    )
    return render(request, "backoffice/notices/list.html", context)


@require_http_methods(["GET", "POST"])
@backoffice_required
def notice_create_view(request):
    form = NoticeForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            notice = notice_create(actor=request.user, **form.values())
        except NoticeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Bandeau créé (brouillon) : programmez-le ou publiez-le."))
            return redirect("backoffice:notice_detail", pk=notice.pk)
    return render(
        request,
        "backoffice/notices/form.html",
        _context(
            request,
            form=form,
            notice=None,
            preview=[_preview_item(form)] if request.method == "POST" else [],
        ),
    )


@require_http_methods(["GET", "POST"])
@backoffice_required
def notice_edit_view(request, pk):
    notice = _notice_or_404(pk)
    if not notice.is_editable:
        messages.error(request, _("Un bandeau expiré ou retiré ne peut plus être modifié."))
        return redirect("backoffice:notice_detail", pk=notice.pk)
    if request.method == "POST":
        form = NoticeForm(data=request.POST)
        if form.is_valid():
            try:
                notice_update(notice=notice, actor=request.user, **form.values())
            except NoticeError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Bandeau modifié."))
                return redirect("backoffice:notice_detail", pk=notice.pk)
        preview = [_preview_item(form)]
    else:
        form = NoticeForm(initial=NoticeForm.initial_for(notice))
        preview = [_item(notice)]
    return render(
        request,
        "backoffice/notices/form.html",
        _context(request, form=form, notice=notice, preview=preview),
    )


@require_POST
@backoffice_required
def notice_preview_view(request):
    """The banner as the public pages would show it, for the values in the form. No write.
    htmx (the form's live preview) gets the banner alone; without JavaScript, the
    "Aperçu" button posts here and gets the form back with the preview above it."""
    form = NoticeForm(data=request.POST)
    preview = [_preview_item(form)]
    if getattr(request, "htmx", False):
        return render(request, "backoffice/notices/_preview.html", {"preview": preview})
    notice = None
    pk = request.POST.get("notice")
    if pk and pk.isdigit():
        notice = _notice_or_404(int(pk))
    return render(
        request,
        "backoffice/notices/form.html",
        _context(request, form=form, notice=notice, preview=preview),
    )


@require_GET
@backoffice_required
def notice_detail(request, pk):
    notice = _notice_or_404(pk)
    allowed = NOTICE_TRANSITIONS[notice.state]
    events = [
        (event, EVENT_LABELS.get(event.kind, event.kind))
        for event in selectors.notice_events(notice=notice)
    ]
    context = _context(
        request,
        notice=notice,
        preview=[_item(notice)],
        events=events,
        can_schedule=NoticeState.SCHEDULED in allowed,
        can_unschedule=NoticeState.DRAFT in allowed,
        can_publish=NoticeState.PUBLISHED in allowed,
        can_withdraw=NoticeState.WITHDRAWN in allowed,
        schedule_form=NoticeWindowForm(initial=NoticeWindowForm.initial_for(notice)),
        linked=selectors.notice_linked_summary(notice=notice, user=request.user),
        motif_labels=[Motif(m).label if m in Motif.values else m for m in notice.affected_motifs],
    )
    return render(request, "backoffice/notices/detail.html", context)


def _act(request, pk, action, success: str):
    notice = _notice_or_404(pk)
    try:
        action(notice)
    except NoticeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("backoffice:notice_detail", pk=notice.pk)


@require_POST
@backoffice_required
def notice_schedule_view(request, pk):
    form = NoticeWindowForm(data=request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Programmation impossible : %(errors)s") % {"errors": _errors(form)}
        )
        return redirect("backoffice:notice_detail", pk=pk)
    return _act(
        request,
        pk,
        lambda notice: notice_schedule_at(
            notice=notice,
            actor=request.user,
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
        ),
        "Bandeau programmé : il sera publié à son début et retiré à sa fin.",
    )


@require_POST
@backoffice_required
def notice_unschedule_view(request, pk):
    return _act(
        request,
        pk,
        lambda notice: notice_unschedule(notice=notice, actor=request.user),
        "Bandeau déprogrammé : il est de nouveau en brouillon.",
    )


@require_POST
@backoffice_required
def notice_publish_view(request, pk):
    return _act(
        request,
        pk,
        lambda notice: notice_publish_now(notice=notice, actor=request.user),
        "Bandeau publié : il est affiché sur toutes les pages.",
    )


@require_POST
@backoffice_required
def notice_withdraw_view(request, pk):
    return _act(
        request,
        pk,
        lambda notice: notice_withdraw(notice=notice, actor=request.user),
        "Bandeau retiré.",
    )


@require_http_methods(["GET", "POST"])
@backoffice_required
def notice_resolve_view(request, pk):
    """Reply to and resolve every open linked ticket the agent works on, in two steps: the
    reply is typed, then confirmed (with the number of tickets it will go to)."""
    notice = _notice_or_404(pk)
    form = NoticeResolveForm(data=request.POST or None)
    confirming = False
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm"]:
            try:
                counts = notice_resolve_linked_tickets(
                    notice=notice, actor=request.user, body=form.cleaned_data["body"]
                )
            except NoticeError as exc:
                messages.error(request, exc.message)
            except TicketError as exc:
                # One ticket refused (e.g. moved to another queue meanwhile): the whole
                # transaction rolled back, nothing was written or sent.
                messages.error(
                    request,
                    _("Aucun ticket n'a été modifié : %(reason)s") % {"reason": exc.message},
                )
            else:
                _report(request, counts)
                return redirect("backoffice:notice_detail", pk=notice.pk)
        else:
            confirming = True
            form = NoticeResolveForm(initial={"body": form.cleaned_data["body"], "confirm": True})
    context = _context(
        request,
        notice=notice,
        form=form,
        confirming=confirming,
        linked=selectors.notice_linked_summary(notice=notice, user=request.user),
        tickets=selectors.notice_linked_open_tickets(notice=notice, user=request.user),
    )
    return render(request, "backoffice/notices/resolve.html", context)


def _report(request, counts: dict) -> None:
    messages.success(
        request,
        _("%(count)s ticket(s) résolu(s) ; la réponse part par courriel à chaque demandeur.")
        % {"count": counts["resolved"]},
    )
    if counts["skipped"]:
        messages.warning(
            request,
            _(
                "%(count)s ticket(s) ignoré(s), leur statut ne permet pas de les résoudre : "
                "%(references)s."
            )
            % {
                "count": counts["skipped"],
                "references": ", ".join(counts["skipped_references"]),
            },
        )
    if counts["not_accessible"]:
        messages.info(
            request,
            _(
                "%(count)s ticket(s) ouvert(s) rattaché(s) à ce bandeau relèvent d'autres "
                "files que les vôtres et n'ont pas été modifiés."
            )
            % {"count": counts["not_accessible"]},
        )
