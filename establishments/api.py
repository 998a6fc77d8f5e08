"""Agent API: SIRET verification on a ticket.

Session authentication with CSRF (ninja's ``django_auth``) for now; the back-office's
authentication (second factor verified, personal tokens) replaces it at merge. Whatever the
authentication, the ticket is looked up within what the agent may see: another queue's
ticket answers 404.
"""

from __future__ import annotations

from ninja import Router, Status

from accounts.staff.auth import AgentSessionAuth, PersonalTokenAuth

from .exceptions import SiretVerificationRefused
from .schemas import (
    DetailOut,
    RefusalOut,
    SiretChecksOut,
    SiretVerificationIn,
    SiretVerificationOut,
)
from .selectors import ticket_for_siret_verification, ticket_siret_checks
from .services import ticket_siret_verify

router = Router(tags=["Vérification du SIRET"], auth=[PersonalTokenAuth(), AgentSessionAuth()])


NOT_FOUND = {"detail": "Demande introuvable."}


def _ticket(request, ticket_id: int):
    return ticket_for_siret_verification(actor=request.auth, ticket_id=ticket_id)


@router.get(
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
    if ticket is None:
        return Status(404, NOT_FOUND)
    return ticket_siret_checks(ticket=ticket)


@router.post(
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
    if ticket is None:
        return Status(404, NOT_FOUND)
    try:
        verification = ticket_siret_verify(
            ticket=ticket, actor=request.auth, verdict=payload.verdict, comment=payload.comment
        )
    except SiretVerificationRefused as exc:
        return Status(422, {"detail": exc.message, "errors": {exc.field: [exc.message]}})
    return Status(201, verification)
