"""Agents' reassignment operations (session auth with CSRF; role-checked in the services)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Router, Status

from accounts.staff.auth import AgentSessionAuth, PersonalTokenAuth
from tickets.models import Ticket

from . import selectors
from .exceptions import ReassignmentForbidden, ReassignmentRefused
from .models import AccountReassignment
from .reassignment import reassignment_approve, reassignment_prepare, reassignment_reject
from .schemas import ErrorOut, ReassignmentDecisionIn, ReassignmentOut, ReassignmentPrepareIn

router = Router(tags=["Réattributions de comptes"], auth=[PersonalTokenAuth(), AgentSessionAuth()])

RESPONSES = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def _out(reassignment: AccountReassignment, repeated: bool | None = None) -> dict:
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
        "repeated_within_window": (
            repeated if repeated is not None else reassignment.recent_reassignments > 0
        ),
    }


def _error(exc):
    status = 403 if isinstance(exc, ReassignmentForbidden) else 409
    return Status(status, {"detail": exc.message})


@router.get(
    "/reassignments",
    response={200: list[ReassignmentOut], 401: ErrorOut, 403: ErrorOut},
    summary="Réattributions en cours (à valider ou en délai d'opposition)",
)
def list_pending(request):
    return [_out(r) for r in selectors.reassignments_pending(actor=request.user)]


@router.post(
    "/tickets/{reference}/reassignments",
    response={201: ReassignmentOut, **RESPONSES},
    summary="Préparer la réattribution du compte d'une demande",
)
def prepare(request, reference: str, payload: ReassignmentPrepareIn):
    from tickets.validation import clean_french_phone

    ticket = get_object_or_404(Ticket, reference=reference)
    try:
        phone = clean_french_phone(payload.new_holder_phone)
    except Exception:  # noqa: BLE001 - a ValidationError with a French message
        return Status(422, {"detail": "Le numéro de téléphone est invalide."})
    try:
        result = reassignment_prepare(
            ticket=ticket,
            actor=request.user,
            new_holder_last_name=payload.new_holder_last_name,
            new_holder_first_name=payload.new_holder_first_name,
            new_holder_email=payload.new_holder_email,
            new_holder_phone=phone,
            evidence_notes=payload.evidence_notes,
        )
    except (ReassignmentForbidden, ReassignmentRefused) as exc:
        return _error(exc)
    reassignment = selectors.reassignment_detail(pk=result.reassignment.pk)
    return Status(201, _out(reassignment, result.repeated_within_window))


@router.post(
    "/reassignments/{reassignment_id}/approve",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Valider une réattribution",
)
def approve(request, reassignment_id: int):
    reassignment = get_object_or_404(AccountReassignment, pk=reassignment_id)
    try:
        result = reassignment_approve(reassignment=reassignment, actor=request.user)
    except (ReassignmentForbidden, ReassignmentRefused) as exc:
        return _error(exc)
    return _out(selectors.reassignment_detail(pk=reassignment_id), result.repeated_within_window)


@router.post(
    "/reassignments/{reassignment_id}/reject",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Refuser une réattribution",
)
def reject(request, reassignment_id: int, payload: ReassignmentDecisionIn):
    reassignment = get_object_or_404(AccountReassignment, pk=reassignment_id)
    try:
        reassignment_reject(reassignment=reassignment, actor=request.user, comment=payload.comment)
    except (ReassignmentForbidden, ReassignmentRefused) as exc:
        return _error(exc)
    return _out(selectors.reassignment_detail(pk=reassignment_id))
