from __future__ import annotations

from ninja import File, Form, Path, Router, Status
from ninja.files import UploadedFile

from accounts.staff.auth import AgentSessionAuth, ApiKeyAuth, PersonalTokenAuth

from . import access
from .documents import IncomingDocument
from .exceptions import DocumentRefused, RequesterReplyRefused, SiretVerificationRefused
from .forms import AssistanceRequestForm
from .models import Source, Ticket
from .schemas import (
    AssistanceRequestAttachedOut,
    AssistanceRequestIn,
    AssistanceRequestOut,
    DetailOut,
    DocumentKindValue,
    DocumentUploadOut,
    ErrorOut,
    RefusalOut,
    SiretChecksOut,
    SiretVerificationIn,
    SiretVerificationOut,
    ValidationErrorOut,
)
from .services import assistance_request_submit
from .services.requester import api_documents_receive
from .verification import ticket_siret_checks, ticket_siret_verify

router = Router(tags=["Demandes d'assistance"])
verification_router = Router(
    tags=["Vérification du SIRET"], auth=[PersonalTokenAuth(), AgentSessionAuth()]
)


# A ticket reference (AP-2026-000123); anything else is refused before any lookup.
REFERENCE_PATTERN = r"^[A-Z]{1,10}-[0-9]{4}-[0-9]{6,7}$"


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


@router.post(
    "/assistance-requests/{reference}/documents",
    auth=ApiKeyAuth(),
    response={
        201: DocumentUploadOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ValidationErrorOut,
    },
    summary="Joindre un document à une demande",
    description=(
        "Envoi `multipart/form-data` d'un fichier (`file`) pour la demande `reference` (celle "
        "que renvoie le dépôt), avec sa nature (`kind` : kbis, mandate, identity, other). "
        "Seuls les PDF, JPEG et PNG sont acceptés, le type étant lu dans le contenu du fichier "
        "(ni son nom ni le Content-Type envoyé ne comptent) ; taille maximale "
        "`DOCUMENT_MAX_MB` Mo (10 par défaut), au plus `DOCUMENTS_PER_TICKET` documents par "
        "demande (20 par défaut). 422 avec un message en français pour un fichier refusé, "
        "404 pour une référence inconnue, 409 pour une demande close."
    ),
)
def upload_document(
    request,
    file: File[UploadedFile],
    reference: str = Path(..., pattern=REFERENCE_PATTERN, max_length=20),
    kind: Form[DocumentKindValue] = "other",
):
    try:
        result = api_documents_receive(
            reference=reference, documents=[IncomingDocument(file=file, kind=kind)]
        )
    except DocumentRefused as exc:
        field = "kind" if exc.field == "kind" else "file"
        return Status(422, {"detail": exc.message, "errors": {field: [exc.message]}})
    except RequesterReplyRefused as exc:
        return Status(409, {"detail": exc.message})
    [document] = result.documents
    return Status(
        201,
        {
            "reference": result.ticket.reference,
            "status": result.ticket.status,
            "document": document,
        },
    )


def _ticket(request, ticket_id: int) -> Ticket:
    """The ticket if the caller may see it (``TicketNotFound`` → 404 otherwise)."""
    return access.ticket_for(request.auth, pk=ticket_id)


@verification_router.get(
    "/tickets/{ticket_id}/siret-check",
    response={
        200: SiretChecksOut,
        401: DetailOut,
        403: DetailOut,
        404: DetailOut,
        422: RefusalOut,
    },
    summary="Contrôles du SIRET d'une demande",
    description=(
        "Clé de contrôle, présence et état au registre SIRENE, comparaison de la "
        "dénomination déclarée, demandes récentes sur le même SIRET, et alertes."
    ),
)
def siret_check(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    return ticket_siret_checks(ticket=ticket)


@verification_router.post(
    "/tickets/{ticket_id}/siret-verification",
    response={
        201: SiretVerificationOut,
        400: DetailOut,
        401: DetailOut,
        403: DetailOut,
        404: DetailOut,
        422: RefusalOut,
    },
    summary="Enregistrer le verdict de vérification du SIRET",
    description=(
        "Enregistre le verdict de l'agent avec son commentaire (obligatoire) et les contrôles "
        "recalculés au moment du verdict ; ajoute un événement « SIRET vérifié » au ticket. "
        "« passed » est refusé (422) pour un SIRET invalide, inconnu du registre, un "
        "établissement fermé ou une dénomination différente."
    ),
)
def siret_verification_create(request, ticket_id: int, payload: SiretVerificationIn):
    ticket = _ticket(request, ticket_id)
    try:
        verification = ticket_siret_verify(
            ticket=ticket,
            actor=request.auth,
            verdict=payload.verdict,
            comment=payload.comment,
            name_justification=payload.name_justification,
        )
    except SiretVerificationRefused as exc:
        return Status(422, {"detail": exc.message, "errors": {exc.field: [exc.message]}})
    return Status(201, verification)
