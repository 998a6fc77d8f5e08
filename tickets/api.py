from __future__ import annotations

from ninja import Router, Status

from accounts.staff.auth import ApiKeyAuth

from .models import Source
from .schemas import (
    AssistanceRequestAttachedOut,
    AssistanceRequestIn,
    AssistanceRequestOut,
    ErrorOut,
    ValidationErrorOut,
)
from .services import assistance_request_submit
from .validation import AssistanceRequestForm

router = Router(tags=["Demandes d'assistance"])


class FormValidationFailed(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors


@router.post(
    "/assistance-requests",
    auth=ApiKeyAuth(),
    response={
        201: AssistanceRequestOut,
        200: AssistanceRequestAttachedOut,
        400: ErrorOut,
        401: ErrorOut,
        422: ValidationErrorOut,
    },
    summary="Déposer une demande d'assistance",
    description=(
        "Crée une demande (201) ou, si une demande ouverte existe déjà pour le même SIRET, "
        "le même motif et la même adresse électronique, la rattache à celle-ci (200, "
        "`attached_to_existing`)."
    ),
)
def create_assistance_request(request, payload: AssistanceRequestIn):
    form = AssistanceRequestForm(data=payload.dict())
    if not form.is_valid():
        raise FormValidationFailed(
            {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        )
    result = assistance_request_submit(data=form.cleaned_data, source=Source.API)
    ticket = result.ticket
    body = {
        "reference": ticket.reference,
        "queue": ticket.queue.slug,
        "status": ticket.status,
        "created_at": ticket.created_at,
    }
    if result.attached_to_existing:
        return Status(200, {**body, "attached_to_existing": True})
    return Status(201, body)
