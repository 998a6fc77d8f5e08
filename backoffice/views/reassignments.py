"""Back-office pages of the account reassignment (case 2.1): prepare it from a ticket, the
supervisors' approval queue, a reassignment's page with its decision buttons.

Thin: the rules (who may prepare, who may approve, the SIRET verification, the state
machine) live in ``accounts.extranet.reassignment`` and hold whatever calls them. Every
page looks its object up through the access rule: outside one's queues, 404.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.extranet import selectors
from accounts.extranet.exceptions import ReassignmentForbidden, ReassignmentRefused
from accounts.extranet.forms import (
    ReassignmentApproveForm,
    ReassignmentDecisionForm,
    ReassignmentPrepareForm,
)
from accounts.extranet.models import AccountReassignment
from accounts.extranet.reassignment import (
    activation_link_resend,
    reassignment_account_for_ticket,
    reassignment_approve,
    reassignment_cancel,
    reassignment_prepare,
    reassignment_reject,
)
from accounts.extranet.risk import SIGNAL_CODES, signal, signals_of
from backoffice.decorators import backoffice_required, require_supervisor
from establishments.models import RegistryEstablishment
from establishments.selectors import denomination_compare
from tickets import access
from tickets.documents import documents_for_ticket
from tickets.exceptions import TicketNotFound
from tickets.models import EventKind
from tickets.verification import (
    ticket_siret_verification_latest,
)

from .nav import nav_context


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
    verification = ticket_siret_verification_latest(ticket)
    return render(
        request,
        "backoffice/reassignments/prepare.html",
        {
            **nav_context(request, current="reassignments"),
            "verification": verification,
            "ticket": ticket,
            "account": account,
            "verification_passed": verification is not None and verification.verdict == "passed",
            "existing": selectors.reassignments_for_ticket(ticket=ticket),
            "documents": documents,
            "form": form,
        },
    )


def _cursor_decode(raw: str) -> tuple[datetime, int] | None:
    """``?apres=<iso datetime>_<id>``: the keyset cursor of the pending list."""
    at, _sep, pk = (raw or "").rpartition("_")
    try:
        return datetime.fromisoformat(at), int(pk)
    except ValueError:
        return None


def _cursor_encode(cursor: tuple[datetime, int] | None) -> str:
    return f"{cursor[0].isoformat()}_{cursor[1]}" if cursor else ""


@backoffice_required
@require_http_methods(["GET"])
def reassignment_list_view(request):
    """The reassignments awaiting approval, a keyset page of 25 with each row's flags and
    risk signals (one query), then those in their objection period and the latest ended."""
    after = _cursor_decode(request.GET.get("apres", ""))
    pending, next_cursor = selectors.reassignments_awaiting_page(actor=request.user, after=after)
    rows = [
        {
            "r": r,
            "signals": signals_of(r),
            "name_flag": r.name_match in NAME_FLAGGED,
            "repeat": r.sig_repeat,  # type: ignore[attr-defined]
        }
        for r in pending
    ]
    return render(
        request,
        "backoffice/reassignments/list.html",
        {
            **nav_context(request, current="reassignments"),
            "rows": rows,
            "first_page": after is None,
            "next_cursor": _cursor_encode(next_cursor),
            "waiting": selectors.reassignments_waiting_objection(actor=request.user)
            if after is None
            else [],
            "recent": selectors.reassignments_ended_recently(actor=request.user)
            if after is None
            else [],
        },
    )


# Which name verdicts the approver must look at twice.
NAME_FLAGGED = frozenset({"close", "different", "unknown"})

STEP_LABELS = {
    "prepared": "Préparée",
    "approval_recorded": "Première approbation (une seconde est requise)",
    "approved": "Approuvée",
    "objected": "Opposition reçue",
    "applied": "Appliquée",
    "rejected": "Refusée",
    "cancelled": "Annulée",
    "flagged": "Signalement",
    "activation_link_resent": "Lien d'activation renvoyé",
}


def _file_context(request, reassignment, *, approve_form=None) -> dict:
    """Everything the approval page shows: the file, a fixed number of queries whatever
    the history (the reassignment with its signals and version: 1; the verification: 1;
    the registry: 1; documents: 1; holder history: 1; previous requests with their
    reassignments: 1; the steps, approvals included: 1)."""
    ticket = reassignment.ticket
    signals = signals_of(reassignment)
    verification = ticket_siret_verification_latest(ticket)
    checks = verification.checks if verification is not None else {}
    registry = RegistryEstablishment.objects.filter(
        siret=reassignment.account.establishment.siret
    ).first()
    # Declared vs registry name, measured now against the registry as it is (no query).
    name_match, name_similarity = denomination_compare(
        ticket.denomination, registry.denomination if registry else ""
    )
    can_decide = selectors.can_decide(reassignment=reassignment, user=request.user)
    events = [
        {"event": e, "label": STEP_LABELS.get(e.data.get("step", ""), e.data.get("step", ""))}
        for e in ticket.events.filter(
            kind=EventKind.REASSIGNMENT, data__reassignment_id=reassignment.pk
        )
        .select_related("actor")
        .order_by("created_at", "id")
    ]
    # Every approval is a step of the timeline, with its acknowledgements: no query of its
    # own (the rows in ReassignmentApproval are what the service counts).
    approvals = [
        {
            "actor": e.actor,
            "at": e.created_at,
            "acknowledgements": [
                (signal(code).label if code in SIGNAL_CODES else code, text)
                for code, text in (e.data.get("acknowledgements") or {}).items()
            ],
        }
        for e in (item["event"] for item in events)
        if e.data.get("step") in ("approval_recorded", "approved")
    ]
    already_approved = any(a["actor"] == request.user for a in approvals)
    required = 2 if len(signals) >= settings.REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS else 1
    version = selectors.file_version_of(reassignment)
    if approve_form is None:
        approve_form = ReassignmentApproveForm(
            prefix="approve", signals=signals, initial={"file_version": version}
        )
    return {
        **nav_context(request, current="reassignments"),
        "reassignment": reassignment,
        "ticket": ticket,
        "signals": signals,
        "verification": verification,
        "checks": checks,
        "registry": registry,
        "name_match": name_match,
        "name_similarity": name_similarity,
        "name_flag": name_match in NAME_FLAGGED,
        "documents": documents_for_ticket(ticket=ticket),
        "history": list(selectors.holder_history(account=reassignment.account)[:10]),
        "previous_requests": selectors.establishment_previous_requests(
            actor=request.user, reassignment=reassignment
        ),
        "approvals": approvals,
        "approvals_required": required,
        "can_decide": can_decide and not already_approved,
        "already_approved": already_approved,
        "is_preparer": reassignment.prepared_by_id == request.user.pk,
        "approve_form": approve_form,
        "reject_form": ReassignmentDecisionForm(prefix="reject", label=_("Motif du refus")),
        "cancel_form": ReassignmentDecisionForm(prefix="cancel", label=_("Motif de l'annulation")),
        "events": events,
        "file_version": version,
    }


def _file_or_404(request, pk: int) -> AccountReassignment:
    reassignment = selectors.reassignment_file_for(actor=request.user, pk=pk)
    if reassignment is None:
        raise Http404
    return reassignment


@backoffice_required
@require_http_methods(["GET"])
def reassignment_detail_view(request, pk):
    """A reassignment's page; for a supervisor who may decide, the approval page: the
    whole file, and each decision under its own fields."""
    reassignment = _file_or_404(request, pk)
    return render(
        request, "backoffice/reassignments/detail.html", _file_context(request, reassignment)
    )


def _refusal(request, exc) -> None:
    messages.error(request, exc.message)


@backoffice_required
@require_POST
def reassignment_approve_view(request, pk):
    reassignment = _file_or_404(request, pk)
    require_supervisor(request, _("Seul un superviseur peut approuver ou refuser."))
    form = ReassignmentApproveForm(
        data=request.POST, prefix="approve", signals=signals_of(reassignment)
    )
    if not form.is_valid():
        messages.error(request, _("L'approbation est incomplète : voir les champs signalés."))
        return render(
            request,
            "backoffice/reassignments/detail.html",
            _file_context(request, reassignment, approve_form=form),
            status=400,
        )
    try:
        result = reassignment_approve(
            reassignment=reassignment,
            actor=request.user,
            file_version=form.cleaned_data["file_version"],
            acknowledgements=form.acknowledgements(),
            comment=form.cleaned_data["comment"],
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except ReassignmentForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except ReassignmentRefused as exc:
        _refusal(request, exc)
    else:
        if result.approvals_missing:
            messages.success(
                request,
                _(
                    "Votre approbation est enregistrée. Cette réattribution porte plusieurs "
                    "signaux de risque : un second superviseur doit aussi l'approuver."
                ),
            )
        else:
            messages.success(
                request,
                _(
                    "Réattribution approuvée : les avis d'opposition partent, le changement "
                    "s'appliquera à l'issue du délai."
                ),
            )
    return redirect("backoffice:reassignment_detail", pk=pk)


def _decide(request, pk, action, prefix, success_message):
    reassignment = _reassignment_or_404(request, pk)
    form = ReassignmentDecisionForm(data=request.POST, prefix=prefix)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        action(reassignment=reassignment, actor=request.user, comment=comment)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except ReassignmentForbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except ReassignmentRefused as exc:
        _refusal(request, exc)
    else:
        messages.success(request, success_message)
    return redirect("backoffice:reassignment_detail", pk=pk)


@backoffice_required
@require_POST
def reassignment_reject_view(request, pk):
    return _decide(request, pk, reassignment_reject, "reject", _("Réattribution refusée."))


@backoffice_required
@require_POST
def reassignment_cancel_view(request, pk):
    return _decide(request, pk, reassignment_cancel, "cancel", _("Réattribution annulée."))


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
