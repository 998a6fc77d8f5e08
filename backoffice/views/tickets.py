"""The ticket page and its actions (claim, assign, status, note, reply)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.extranet import selectors as accounts_selectors
from accounts.extranet.selectors import establishment_card
from accounts.staff.models import User
from tickets import selectors
from tickets.documents import documents_for_ticket
from tickets.exceptions import NoTicketAvailable, TicketError, TicketNotFound
from tickets.followup import expected_kinds
from tickets.forms import DocumentsRequestForm
from tickets.models import DocumentKind, DocumentStatus, MessageKind, Motif, Status
from tickets.presenters import describe_event
from tickets.services import (
    ticket_assign,
    ticket_change_status,
    ticket_claim,
    ticket_mark_read,
    ticket_note_add,
    ticket_reply,
    ticket_take_next,
)

from ..decorators import backoffice_required
from ..forms import AssignForm, MessageForm, ReplyForm, StatusForm
from .nav import nav_context
from .ticket_presenters import documents_html, messages_html, timeline_html


def _ticket_or_404(request, pk: int):
    try:
        return selectors.ticket_get_for_user(user=request.user, ticket_id=pk)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc


_SLOT = 987654321


def _requester_side(request, ticket, ticket_messages) -> dict:
    """The ticket page's part about the requester: documents (each attached to its
    message too), the evidence asked for and received, the follow-up links."""
    documents = documents_for_ticket(ticket=ticket) if ticket.document_count else []
    by_message: dict[int, list] = {}
    for document in documents:
        if document.message_id is not None:
            by_message.setdefault(document.message_id, []).append(document)
    for message in ticket_messages:
        message.attached = by_message.get(message.pk, [])
    # Three links per document: reversed once, then filled in (a reverse() per document
    # and link cost more than the rest of the list).
    links = {
        name: reverse(f"backoffice:ticket_document_{name}", args=[ticket.pk, _SLOT])
        for name in ("download", "preview", "reject")
    }
    for document in documents:
        document.links = {
            name: url.replace(str(_SLOT), str(document.pk)) for name, url in links.items()
        }
    received = {d.kind for d in documents if d.status == DocumentStatus.RECEIVED}
    return {
        "documents": documents,
        "documents_html": documents_html(ticket, documents, get_token(request)),
        "expected_documents": [
            (DocumentKind(kind).label, kind in received) for kind in expected_kinds(ticket_messages)
        ],
        "documents_request_form": (
            DocumentsRequestForm() if ticket.motif == Motif.HABILITATION_EXTRANET else None
        ),
    }


# "Puis prendre le ticket suivant de la file": the agent's choice, kept for the session.
TAKE_NEXT_SESSION_KEY = "backoffice_take_next_after_resolve"
# ``?reponse_type=<id>``: the ticket page with that canned reply in the reply box (the
# insertion without JavaScript; with it, canned-replies.js fills the box in place).
CANNED_REPLY_PARAM = "reponse_type"


def _reply_box(request, canned, reply_form) -> dict:
    """What the reply box shows: the text typed (kept when a reply is refused), or the
    canned reply asked for with ``?reponse_type=``."""
    box = {"body": "", "canned_reply": "", "error": "", "then": ""}
    if reply_form is not None:
        box["body"] = reply_form.data.get("reply-body", "")
        raw = reply_form.data.get("reply-canned_reply", "")
        box["canned_reply"] = int(raw) if raw.isdigit() else ""
        box["then"] = reply_form.data.get("reply-then", "")
        return box
    raw = request.GET.get(CANNED_REPLY_PARAM, "")
    if raw:
        chosen = next((c for c in canned if str(c.pk) == raw), None)
        if chosen is None:
            box["error"] = _("Cette réponse type n'est pas proposée pour ce ticket.")
        else:
            box["body"], box["canned_reply"] = chosen.text, chosen.pk
    return box


def _ticket_page(request, ticket, *, reply_form=None, reply_error: str = "", status=200):
    unread_since = ticket.requester_unread_at
    ticket_mark_read(ticket=ticket, actor=request.user)
    events = selectors.ticket_timeline(ticket=ticket)
    ticket_messages = selectors.ticket_messages(ticket=ticket)
    canned = selectors.canned_replies_for_ticket(ticket=ticket)
    reply_box = _reply_box(request, canned, reply_form)
    if reply_error:
        reply_box["error"] = reply_error
    timeline = [(event, describe_event(event)) for event in events]
    requester_side = _requester_side(request, ticket, ticket_messages)  # sets message.attached
    context = {
        **nav_context(request, current=f"queue:{ticket.queue.slug}"),
        "ticket": ticket,
        "card": establishment_card(user=request.user, ticket=ticket),
        "timeline": timeline,
        "timeline_html": timeline_html(timeline),
        "ticket_messages": ticket_messages,
        "messages_html": messages_html(ticket, ticket_messages),
        "last_requester_message": next(
            (
                m
                for m in reversed(ticket_messages)
                if m.kind in (MessageKind.REQUEST, MessageKind.REQUESTER_REPLY)
            ),
            None,
        ),
        "unread_since": unread_since,
        **requester_side,
        "transitions": [
            (value, Status(value).label)
            for value in Status.values
            if value in ticket.allowed_transitions()
        ],
        "assignees": selectors.assignable_users(user=request.user, queue_ids=[ticket.queue_id]),
        "canned_replies": canned,
        "reply_box": reply_box,
        "reply_thens": [
            (value, label)
            for value, label in ReplyForm.THEN
            if not value or value == ticket.status or value in ticket.allowed_transitions()
        ],
        "take_next": request.session.get(TAKE_NEXT_SESSION_KEY, False),
    }
    return render(request, "backoffice/tickets/detail.html", context, status=status)


def _ticket_page_or_404(request, pk):
    try:
        return selectors.ticket_page_get(user=request.user, ticket_id=pk)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@backoffice_required
def ticket_detail(request, pk):
    return _ticket_page(request, _ticket_page_or_404(request, pk))


def _take_next(request, queue):
    """After a resolution, with "Puis prendre le ticket suivant": the next ticket of the
    same queue (``ticket_take_next``, atomic), or the queue's page when none is left."""
    try:
        ticket = ticket_take_next(queue=queue, actor=request.user)
    except NoTicketAvailable as exc:
        messages.info(request, exc.message)
        return redirect("backoffice:queue", slug=queue.slug)
    except TicketError as exc:
        messages.warning(request, exc.message)
        return redirect("backoffice:home")
    selectors.queue_counts_forget(user=request.user)
    messages.success(
        request,
        _("Ticket suivant : %(reference)s vous est assigné.") % {"reference": ticket.reference},
    )
    return redirect("backoffice:ticket_detail", pk=ticket.pk)


@backoffice_required
@require_GET
def ticket_extranet_panel(request, pk):
    """Case 2.1 on an "Habilitation à l'extranet" ticket: the account's reassignments and
    the links sent to its holders. Loaded by the ticket page on its own (htmx), and a page
    of its own without JavaScript."""
    ticket = _ticket_or_404(request, pk)
    if ticket.motif != Motif.HABILITATION_EXTRANET:
        raise Http404
    card = establishment_card(user=request.user, ticket=ticket)
    context = {
        "ticket": ticket,
        "card": card,
        "reassignments": list(accounts_selectors.reassignments_for_ticket(ticket=ticket)),
        "recovery_links": (
            accounts_selectors.recovery_links_for_establishment(card.establishment)
            if card.establishment
            else []
        ),
    }
    if getattr(request, "htmx", False):
        return render(request, "backoffice/tickets/_extranet_panel.html", context)
    return render(
        request,
        "backoffice/tickets/extranet_panel.html",
        {**nav_context(request, current=f"queue:{ticket.queue.slug}"), **context},
    )


def _act(request, pk, action):
    """Run one ticket action: a refused one (stale version, transition, permission)
    comes back to the ticket page with its French message."""
    ticket = _ticket_or_404(request, pk)
    try:
        result = action(ticket)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        selectors.queue_counts_forget(user=request.user)
        if result:
            messages.success(request, result)
    return redirect("backoffice:ticket_detail", pk=ticket.pk)


def _invalid(request, pk, form):
    errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    messages.error(request, _("Formulaire invalide : %(errors)s") % {"errors": errors})
    return redirect("backoffice:ticket_detail", pk=pk)


@require_POST
@backoffice_required
def ticket_claim_view(request, pk):
    version = request.POST.get("version")
    expected = int(version) if version and version.isdigit() else None

    def action(ticket):
        ticket_claim(ticket=ticket, actor=request.user, expected_version=expected)
        return "Le ticket vous est assigné."

    return _act(request, pk, action)


@require_POST
@backoffice_required
def ticket_assign_view(request, pk):
    form = AssignForm(data=request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)

    def action(ticket):
        assignee = None
        if form.cleaned_data["assignee"] is not None:
            assignee = User.objects.filter(pk=form.cleaned_data["assignee"]).first()
            if assignee is None:
                raise TicketError(_("Cet agent n'existe pas."))
        ticket_assign(
            ticket=ticket,
            actor=request.user,
            assignee=assignee,
            expected_version=form.cleaned_data["version"],
        )
        return f"Ticket assigné à {assignee}." if assignee else "Ticket désassigné."

    return _act(request, pk, action)


@require_POST
@backoffice_required
def ticket_status_view(request, pk):
    form = StatusForm(data=request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    new_status = form.cleaned_data["status"]
    take_next = form.cleaned_data["take_next"]
    request.session[TAKE_NEXT_SESSION_KEY] = take_next
    ticket = _ticket_or_404(request, pk)
    try:
        ticket_change_status(
            ticket=ticket,
            actor=request.user,
            new_status=new_status,
            expected_version=form.cleaned_data["version"],
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        messages.error(request, exc.message)
        return redirect("backoffice:ticket_detail", pk=ticket.pk)
    selectors.queue_counts_forget(user=request.user)
    messages.success(request, f"Statut : {Status(new_status).label}.")
    if take_next and new_status == Status.RESOLU:
        return _take_next(request, ticket.queue)
    return redirect("backoffice:ticket_detail", pk=ticket.pk)


@require_POST
@backoffice_required
def ticket_note_view(request, pk):
    form = MessageForm(data=request.POST, prefix="note")
    if not form.is_valid():
        return _invalid(request, pk, form)

    def action(ticket):
        ticket_note_add(ticket=ticket, actor=request.user, body=form.cleaned_data["body"])
        return "Note ajoutée."

    return _act(request, pk, action)


@require_POST
@backoffice_required
def ticket_reply_view(request, pk):
    """The reply box's one POST: the reply, with "… et mettre en attente" or "… et
    résoudre" the status in the same transaction, then maybe the next ticket. A refused
    reply comes back on the ticket page with the text typed and the French message."""
    ticket = _ticket_or_404(request, pk)
    form = ReplyForm(data=request.POST, prefix="reply")
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return _ticket_page(
            request,
            _ticket_page_or_404(request, pk),
            reply_form=form,
            reply_error=errors,
            status=400,
        )
    then = form.cleaned_data["then"] or None
    take_next = form.cleaned_data["take_next"]
    request.session[TAKE_NEXT_SESSION_KEY] = take_next
    try:
        ticket_reply(
            ticket=ticket,
            actor=request.user,
            body=form.cleaned_data["body"],
            expected_version=form.cleaned_data["version"],
            then_status=then,
            canned_reply_id=form.cleaned_data["canned_reply"],
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        return _ticket_page(
            request,
            _ticket_page_or_404(request, pk),
            reply_form=form,
            reply_error=exc.message,
            status=409,
        )
    selectors.queue_counts_forget(user=request.user)
    done = {
        None: _("Réponse enregistrée : elle part par courriel au demandeur."),
        Status.EN_ATTENTE: _(
            "Réponse enregistrée (elle part par courriel au demandeur) ; ticket en attente "
            "du demandeur."
        ),
        Status.RESOLU: _(
            "Réponse enregistrée (elle part par courriel au demandeur) ; ticket %(reference)s "
            "résolu."
        )
        % {"reference": ticket.reference},
    }[then]
    messages.success(request, done)
    if then == Status.RESOLU and take_next:
        return _take_next(request, ticket.queue)
    return redirect("backoffice:ticket_detail", pk=ticket.pk)
