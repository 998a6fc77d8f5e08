"""Agents' reassignment operations (session auth with CSRF, or a personal token). Looked up
through the access rule (404 outside one's queues); roles and the workflow's rules are
checked by the services, whose refusals ``backoffice.api`` maps to 403 / 409."""

from __future__ import annotations

from ninja import Path, Router, Status

from accounts.staff.auth import AgentSessionAuth, PersonalTokenAuth
from tickets import access
from tickets.api import REFERENCE_PATTERN
from tickets.exceptions import TicketNotFound
from tickets.forms import clean_french_phone

from . import selectors
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


def _reassignment(request, pk: int) -> AccountReassignment:
    """The reassignment if the caller may see its ticket; 404 otherwise (the API's handler
    maps ``TicketNotFound``)."""
    reassignment = selectors.reassignment_for(actor=request.user, pk=pk)
    if reassignment is None:
        raise TicketNotFound(str(access.TICKET_NOT_FOUND))
    return reassignment


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
    )
    reassignment = _reassignment(request, result.reassignment.pk)
    return Status(201, _out(reassignment, result.repeated_within_window))


@router.post(
    "/reassignments/{reassignment_id}/approve",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Valider une réattribution",
)
def approve(request, reassignment_id: int):
    reassignment = _reassignment(request, reassignment_id)
    result = reassignment_approve(reassignment=reassignment, actor=request.user)
    return _out(_reassignment(request, reassignment_id), result.repeated_within_window)


@router.post(
    "/reassignments/{reassignment_id}/reject",
    response={200: ReassignmentOut, **RESPONSES},
    summary="Refuser une réattribution",
)
def reject(request, reassignment_id: int, payload: ReassignmentDecisionIn):
    reassignment = _reassignment(request, reassignment_id)
    reassignment_reject(reassignment=reassignment, actor=request.user, comment=payload.comment)
    return _out(_reassignment(request, reassignment_id))
