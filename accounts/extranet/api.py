"""Agents' reassignment operations (session auth with CSRF, or a personal token). Looked up
through the access rule (404 outside one's queues); roles and the workflow's rules are
checked by the services, whose refusals ``backoffice.api`` maps to 403 / 409."""

from __future__ import annotations

from django.conf import settings
from ninja import Path, Query, Router, Status

from accounts.staff.auth import AgentSessionAuth, PersonalTokenAuth
from establishments.models import RegistryEstablishment
from tickets import access
from tickets.api import REFERENCE_PATTERN
from tickets.documents import documents_for_ticket
from tickets.exceptions import TicketNotFound
from tickets.forms import clean_french_phone
from tickets.verification import ticket_siret_verification_latest

from . import selectors
from .models import AccountReassignment
from .reassignment import (
    reassignment_approve,
    reassignment_cancel,
    reassignment_prepare,
    reassignment_reject,
)
from .risk import signals_of
from .schemas import (
    ErrorOut,
    ReassignmentApproveIn,
    ReassignmentDecisionIn,
    ReassignmentFileOut,
    ReassignmentOut,
    ReassignmentPrepareIn,
)

router = Router(tags=["Réattributions de comptes"], auth=[PersonalTokenAuth(), AgentSessionAuth()])

RESPONSES = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def _signals(reassignment: AccountReassignment) -> list[dict]:
    return [
        {"code": s.code, "label": str(s.label), "explanation": str(s.explanation)}
        for s in signals_of(reassignment)
    ]


def _out(reassignment: AccountReassignment, repeated: bool | None = None) -> dict:
    if repeated is None:
        repeated = getattr(reassignment, "sig_repeat", reassignment.recent_reassignments > 0)
    return {
        "id": reassignment.pk,
        "ticket_reference": reassignment.ticket.reference,
        "siret": reassignment.account.establishment.siret,
        "account_identifiant": reassignment.account.identifiant,
        "state": reassignment.state,
        "new_holder_name": reassignment.new_holder_name,
        "new_holder_email": reassignment.new_holder_email,
        "prepared_by": str(reassignment.prepared_by),
        "prepared_at": reassignment.prepared_at,
        "approved_by": str(reassignment.approved_by) if reassignment.approved_by_id else None,
        "apply_after": reassignment.apply_after,
        "repeated_within_window": repeated,
        "denomination": reassignment.account.establishment.denomination,
        "name_match": reassignment.name_match,
        "flag_reason": reassignment.flag_reason,
        "signals": _signals(reassignment),
    }


def _file(request, reassignment: AccountReassignment) -> dict:
    """The approval page's file, as JSON: the same selectors, the same fixed queries."""
    ticket = reassignment.ticket
    verification = ticket_siret_verification_latest(ticket)
    registry = RegistryEstablishment.objects.filter(
        siret=reassignment.account.establishment.siret
    ).first()
    signals = signals_of(reassignment)
    return {
        **_out(reassignment),
        "file_version": selectors.file_version_of(reassignment),
        "requester_name": ticket.requester_name,
        "requester_email": ticket.email,
        "requester_phone": ticket.phone,
        "previous_holder_name": reassignment.previous_holder_name,
        "previous_holder_email": reassignment.previous_holder_email,
        "new_holder_phone": reassignment.new_holder_phone,
        "evidence_notes": reassignment.evidence_notes,
        "verification": None
        if verification is None
        else {
            "verdict": verification.verdict,
            "comment": verification.comment,
            "name_justification": verification.name_justification,
            "actor": str(verification.actor),
            "created_at": verification.created_at,
            "checks": verification.checks,
        },
        "registry": None
        if registry is None
        else {
            "administrative_status": registry.administrative_status,
            "denomination": registry.denomination,
            "address": registry.address_lines,
            "started_on": registry.started_on,
        },
        "documents": [
            {
                "id": d.pk,
                "kind": d.kind,
                "name": d.name,
                "status": d.status,
                "created_at": d.created_at,
                "checked_by": str(d.checked_by) if d.checked_by_id else None,
                "checked_at": d.checked_at,
            }
            for d in documents_for_ticket(ticket=ticket)
        ],
        "holder_history": [
            {
                "changed_at": h.changed_at,
                "previous_name": f"{h.previous_first_name} {h.previous_last_name}".strip(),
                "previous_email": h.previous_email,
                "new_name": f"{h.new_first_name} {h.new_last_name}".strip(),
                "new_email": h.new_email,
            }
            for h in selectors.holder_history(account=reassignment.account)[:10]
        ],
        "previous_requests": [
            {
                "reference": t.reference,
                "motif": t.motif,
                "status": t.status,
                "created_at": t.created_at,
                "email": t.email,
            }
            for t in selectors.establishment_previous_requests(
                actor=request.user, reassignment=reassignment
            )
        ],
        "approvals": [
            {
                "approver": str(a.approver),
                "approved_at": a.approved_at,
                "acknowledgements": a.acknowledgements,
            }
            for a in selectors.approvals_of(reassignment=reassignment)
        ],
        "approvals_required": 2
        if len(signals) >= settings.REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS
        else 1,
    }


def _reassignment(request, pk: int) -> AccountReassignment:
    """The reassignment, with its risk signals and file version, if the caller may see its
    ticket; 404 otherwise (the API's handler maps ``TicketNotFound``)."""
    reassignment = selectors.reassignment_file_for(actor=request.user, pk=pk)
    if reassignment is None:
        raise TicketNotFound(str(access.TICKET_NOT_FOUND))
    return reassignment


@router.get(
    "/reassignments",
    response={200: list[ReassignmentOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Réattributions en attente d'approbation, avec leurs signaux de risque",
    description=(
        "Les plus anciennes d'abord, par pages de 25 : pour la page suivante, passer dans "
        "``after`` l'``id`` de la dernière reçue (une réattribution inconnue ou qui n'attend "
        "plus d'approbation : page vide)."
    ),
)
def list_pending(request, after: int = Query(0, ge=0, le=2_147_483_647)):
    cursor = None
    if after:
        last = (
            selectors.reassignments_visible(actor=request.user)
            .filter(pk=after, state="prepared")
            .values_list("prepared_at", "pk")
            .first()
        )
        if last is None:
            return []
        cursor = (last[0], last[1])
    rows, _next = selectors.reassignments_awaiting_page(actor=request.user, after=cursor)
    return [_out(r) for r in rows]


@router.get(
    "/reassignments/{reassignment_id}",
    response={200: ReassignmentFileOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Le dossier d'une réattribution (contrôles, documents, signaux, historique)",
)
def file(request, reassignment_id: int):
    return _file(request, _reassignment(request, reassignment_id))


@router.post(
    "/tickets/{reference}/reassignments",
    response={201: ReassignmentOut, **RESPONSES},
    summary="Préparer la réattribution du compte d'une demande",
)
def prepare(
    request,
    payload: ReassignmentPrepareIn,
    reference: str = Path(..., pattern=REFERENCE_PATTERN, max_length=20),
):
    ticket = access.ticket_for(request.user, reference=reference)
    try:
        phone = clean_french_phone(payload.new_holder_phone)
    except Exception:  # noqa: BLE001 - a ValidationError with a French message
        return Status(422, {"detail": "Le numéro de téléphone est invalide."})
    result = reassignment_prepare(
        ticket=ticket,
        actor=request.user,
        new_holder_last_name=payload.new_holder_last_name,
        new_holder_first_name=payload.new_holder_first_name,
        new_holder_email=payload.new_holder_email,
        new_holder_phone=phone,
        evidence_notes=payload.evidence_notes,
        checked_documents=payload.checked_documents,
    )
    reassignment = _reassignment(request, result.reassignment.pk)
    return Status(201, _out(reassignment, result.repeated_within_window))


@router.post(
    "/reassignments/{reassignment_id}/approve",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Valider une réattribution",
)
def approve(request, reassignment_id: int, payload: ReassignmentApproveIn):
    reassignment = _reassignment(request, reassignment_id)
    reassignment_approve(
        reassignment=reassignment,
        actor=request.user,
        file_version=payload.file_version,
        acknowledgements=payload.acknowledgements,
        comment=payload.comment,
    )
    return _out(_reassignment(request, reassignment_id))


@router.post(
    "/reassignments/{reassignment_id}/reject",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Refuser une réattribution",
)
def reject(request, reassignment_id: int, payload: ReassignmentDecisionIn):
    reassignment = _reassignment(request, reassignment_id)
    reassignment_reject(reassignment=reassignment, actor=request.user, comment=payload.comment)
    return _out(_reassignment(request, reassignment_id))


@router.post(
    "/reassignments/{reassignment_id}/cancel",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Annuler une réattribution qui n'est pas encore appliquée",
)
def cancel(request, reassignment_id: int, payload: ReassignmentDecisionIn):
    reassignment = _reassignment(request, reassignment_id)
    reassignment_cancel(reassignment=reassignment, actor=request.user, comment=payload.comment)
    return _out(_reassignment(request, reassignment_id))
