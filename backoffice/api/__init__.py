"""The NinjaAPI root: ``/api/v1/…``, OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``.

Domain exceptions and validation errors are turned into HTTP answers here, in one place,
with French messages.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.extranet.api import router as accounts_router
from accounts.extranet.exceptions import ReassignmentForbidden, ReassignmentRefused
from backoffice.notices.api import router as notices_router
from tickets.api import FormValidationFailed, verification_router
from tickets.api import router as tickets_router
from tickets.exceptions import (
    ActionNotAllowed,
    DocumentRefused,
    InvalidTransition,
    NoTicketAvailable,
    RequesterReplyRefused,
    SiretVerificationRefused,
    StaleTicket,
    TicketNotFound,
)
from worker import context
from worker.errors import DomainError
from worker.text import FORBIDDEN_MESSAGE

from .agent import router as agent_router

api = NinjaAPI(
    title="Assistance activité partielle",
    version="1.0.0",
    description="API du back-office d'assistance de l'extranet activité partielle (ASP).",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/v1/", tickets_router)
api.add_router("/v1/", notices_router)
api.add_router("/v1/", accounts_router)
api.add_router("/v1/", agent_router)
api.add_router("/v1/", verification_router)

INVALID = "Données invalides."

# pydantic error types → French messages.
_PYDANTIC_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "string_type": "Ce champ doit être une chaîne de caractères.",
    "literal_error": "Valeur non autorisée pour ce champ.",
    "enum": "Valeur non autorisée pour ce champ.",
    "json_invalid": "Le corps de la requête n'est pas un JSON valide.",
    "model_attributes_type": "Le corps de la requête doit être un objet JSON.",
    "dict_type": "Le corps de la requête doit être un objet JSON.",
    "forbidden_character": str(FORBIDDEN_MESSAGE),
    "string_too_short": "Ce champ est obligatoire.",
    "string_too_long": "Ce texte est trop long.",
    "string_pattern_mismatch": "Format invalide pour ce champ.",
    "int_type": "Ce champ doit être un nombre entier.",
    "int_parsing": "Ce champ doit être un nombre entier.",
    "int_from_float": "Ce champ doit être un nombre entier.",
    "bool_type": "Ce champ doit être un booléen.",
    "list_type": "Ce champ doit être une liste.",
    "value_error": "Valeur invalide.",
}


def _field_of(loc) -> str:
    names = [str(part) for part in loc if not isinstance(part, int)]
    # ("body", "payload", "siret") → "siret"; ("query", "params", "q") → "q"; ("path",
    # "slug") → "slug"; an error on the whole body → "__all__". A field may itself be
    # called "body" (a note's): only the leading location parts are dropped.
    if names and names[0] in ("body", "query", "path", "form", "file"):
        names = names[1:]
        if names and names[0] in ("payload", "params"):
            names = names[1:]
    return names[-1] if names else "__all__"


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        kind = error.get("type", "")
        if kind == "filter_error" and error.get("msg"):
            # The filters' own French messages (django-filter), passed through.
            message = str(error["msg"])
        else:
            message = _PYDANTIC_MESSAGES.get(kind, "Valeur invalide.")
        errors.setdefault(_field_of(error.get("loc", ())), []).append(message)
    return api.create_response(request, {"detail": INVALID, "errors": errors}, status=422)


@api.exception_handler(FormValidationFailed)
def form_validation_failed(request, exc: FormValidationFailed):
    return api.create_response(request, {"detail": INVALID, "errors": exc.errors}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    if "/assistance-requests" in request.path:
        detail = "Clé d'API absente ou invalide."
    else:
        detail = (
            "Authentification requise : session du back-office avec second facteur vérifié, "
            "ou jeton personnel."
        )
    return api.create_response(request, {"detail": detail}, status=401)


# ninja raises these with English texts; our callers get French ones.
_HTTP_ERROR_MESSAGES = {
    400: "Le corps de la requête n'est pas un JSON valide.",
    403: "Vous n'avez pas accès à cette ressource.",
    404: "Ressource introuvable.",
}


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    if exc.status_code == 403 and "CSRF" in str(exc):
        detail = "Jeton CSRF absent ou invalide."
    else:
        detail = _HTTP_ERROR_MESSAGES.get(exc.status_code, str(exc))
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": _HTTP_ERROR_MESSAGES[403]}, status=403)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Ressource introuvable."}, status=404)


# Domain refusals → HTTP, in one place, with the service's French message. The first class
# that matches wins: list subclasses before their parents.
_DOMAIN_ERROR_STATUS: list[tuple[type[DomainError], int]] = [
    (TicketNotFound, 404),
    (ActionNotAllowed, 403),
    (ReassignmentForbidden, 403),
    (SiretVerificationRefused, 422),
    (DocumentRefused, 422),
    (RequesterReplyRefused, 409),
    (StaleTicket, 409),
    (InvalidTransition, 409),
    (NoTicketAvailable, 409),
    (ReassignmentRefused, 409),
]


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    status = next((code for cls, code in _DOMAIN_ERROR_STATUS if isinstance(exc, cls)), 409)
    body: dict = {"detail": exc.message}
    if status == 422:
        body["errors"] = {exc.field or "__all__": [exc.message]}
    return api.create_response(request, body, status=status)


logger = logging.getLogger("apsupport.api")


@api.exception_handler(Exception)
def server_error(request, exc: Exception):
    """Anything else: a JSON 500 with a French message and the request id, never a
    traceback, a class name or a query. The exception is logged (with its traceback) for
    the operator, and reaches Sentry through the logging integration."""
    match = request.resolver_match
    logger.error(
        "Unhandled error in %s %s",
        request.method,
        match.view_name if match else "?",
        exc_info=exc,
    )
    body = {"detail": "Erreur interne du serveur. Réessayez plus tard."}
    request_id = context.request_id()
    if request_id:
        body["request_id"] = request_id
    return api.create_response(request, body, status=500)
