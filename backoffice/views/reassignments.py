"""Back-office pages of the account reassignment (case 2.1): prepare it from a ticket, the
supervisors' approval queue, a reassignment's page with its decision buttons.

Thin: the rules (who may prepare, who may approve, the SIRET verification, the state
machine) live in ``accounts.extranet.reassignment`` and hold whatever calls them. Every
page looks its object up through the access rule: outside one's queues, 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.extranet import selectors
from accounts.extranet.exceptions import ReassignmentForbidden, ReassignmentRefused
from accounts.extranet.forms import ReassignmentDecisionForm, ReassignmentPrepareForm
from accounts.extranet.models import AccountReassignment
from accounts.extranet.reassignment import (
    activation_link_resend,
    reassignment_account_for_ticket,
    reassignment_approve,
    reassignment_cancel,
    reassignment_prepare,
    reassignment_reject,
)
from backoffice.decorators import backoffice_required
from tickets import access
from tickets.documents import documents_for_ticket
from tickets.exceptions import TicketNotFound
from tickets.models import EventKind
from tickets.verification import ticket_siret_verification_passed


def _reassignment_or_404(request, pk: int) -> AccountReassignment:
    reassignment = selectors.reassignment_for(actor=request.user, pk=pk)
    if reassignment is None:
        raise Http404
    return reassignment


def _split_name(full_name: str) -> tuple[str, str]:
    """ "Claire Dupont" → ("Claire", "Dupont"): a prefill the agent checks and corrects."""
    parts = full_name.split()
    if len(parts) < 2:
        return "", full_name.strip()
    return parts[0], " ".join(parts[1:])


@backoffice_required
@require_http_methods(["GET", "POST"])
def reassignment_prepare_view(request, reference):
    try:
        ticket = access.ticket_for(request.user, reference=reference)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    account = reassignment_account_for_ticket(ticket=ticket)
    documents = documents_for_ticket(ticket=ticket)
    if request.method == "POST":
        form = ReassignmentPrepareForm(data=request.POST, documents=documents)
        if form.is_valid():
            try:
                result = reassignment_prepare(
                    ticket=ticket, actor=request.user, **form.cleaned_data
                )
            except TicketNotFound as exc:
                raise Http404(exc.message) from exc
            except ReassignmentForbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except ReassignmentRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("Réattribution préparée : elle attend la validation d'un superviseur."),
                )
                if result.repeated_within_window:
                    messages.warning(
                        request,
                        _(
                            "Attention : ce SIRET a déjà fait l'objet d'une "
                            "réattribution ces 90 derniers jours."
                        ),
                    )
                return redirect("backoffice:reassignment_detail", pk=result.reassignment.pk)
    else:
        first, last = _split_name(ticket.requester_name)
        form = ReassignmentPrepareForm(
            documents=documents,
            initial={
                "new_holder_first_name": first,
                "new_holder_last_name": last,
                "new_holder_email": ticket.email,
                "new_holder_phone": ticket.phone,
            },
        )
    return render(
        request,
        "backoffice/reassignments/prepare.html",
        {
            "ticket": ticket,
            "account": account,
            "verification_passed": ticket_siret_verification_passed(ticket),
            "existing": selectors.reassignments_for_ticket(ticket=ticket),
            "documents": documents,
            "form": form,
        },
    )


@backoffice_required
@require_http_methods(["GET"])
def reassignment_list_view(request):
    return render(
        request,
        "backoffice/reassignments/list.html",
        {
            "pending": selectors.reassignments_pending(actor=request.user),
            "recent": selectors.reassignments_recent(actor=request.user),
        },
    )


@backoffice_required
@require_http_methods(["GET"])
def reassignment_detail_view(request, pk):
    reassignment = _reassignment_or_404(request, pk)
    return render(
        request,
        "backoffice/reassignments/detail.html",
        {
            "reassignment": reassignment,
            "can_decide": selectors.can_decide(reassignment=reassignment, user=request.user),
            "is_preparer": reassignment.prepared_by_id == request.user.pk,
            "others": selectors.other_reassignments_of_establishment(
                actor=request.user, reassignment=reassignment
            ),
            "events": reassignment.ticket.events.filter(kind=EventKind.REASSIGNMENT)
            .select_related("actor")
            .order_by("created_at", "id"),
            "history": selectors.holder_history(account=reassignment.account)[:10],
            "decision_form": ReassignmentDecisionForm(),
        },
    )


def _decide(request, pk, action, success_message):
    reassignment = _reassignment_or_404(request, pk)
    form = ReassignmentDecisionForm(data=request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        if action is reassignment_approve:
            result = action(reassignment=reassignment, actor=request.user)
            if result.repeated_within_window:
                messages.warning(
                    request,
                    _("Ce SIRET a déjà fait l'objet d'une réattribution ces 90 derniers jours."),
                )
        else:
            action(reassignment=reassignment, actor=request.user, comment=comment)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except ReassignmentForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except ReassignmentRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success_message)
    return redirect("backoffice:reassignment_detail", pk=pk)


@backoffice_required
@require_POST
def reassignment_approve_view(request, pk):
    return _decide(
        request,
        pk,
        reassignment_approve,
        "Réattribution validée : les avis d'opposition partent, le changement "
        "s'appliquera à l'issue du délai.",
    )


@backoffice_required
@require_POST
def reassignment_reject_view(request, pk):
    return _decide(request, pk, reassignment_reject, "Réattribution refusée.")


@backoffice_required
@require_POST
def reassignment_cancel_view(request, pk):
    return _decide(request, pk, reassignment_cancel, "Réattribution annulée.")


@backoffice_required
@require_POST
def reassignment_activation_resend_view(request, pk):
    reassignment = _reassignment_or_404(request, pk)
    try:
        activation_link_resend(reassignment=reassignment, actor=request.user)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except ReassignmentForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except ReassignmentRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Un nouveau lien d'activation part vers le nouveau titulaire."))
    return redirect("backoffice:reassignment_detail", pk=pk)
