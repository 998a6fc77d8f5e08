"""The NinjaAPI root: ``/api/v1/…``, OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``.

Domain exceptions and validation errors are turned into HTTP answers here, in one place,
with French messages.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from establishments.api import router as establishments_router
from tickets.api import FormValidationFailed
from tickets.api import router as tickets_router

api = NinjaAPI(
    title="Assistance activité partielle",
    version="1.0.0",
    description="API du back-office d'assistance de l'extranet activité partielle (ASP).",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/v1/", tickets_router)
api.add_router("/v1/", establishments_router)

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
}


def _field_of(loc) -> str:
    names = [str(part) for part in loc if not isinstance(part, int)]
    # ("body", "payload", "siret") → "siret"; an error on the whole body → "__all__".
    names = [n for n in names if n not in ("body", "payload")]
    return names[-1] if names else "__all__"


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""), "Valeur invalide.")
        errors.setdefault(_field_of(error.get("loc", ())), []).append(message)
    return api.create_response(request, {"detail": INVALID, "errors": errors}, status=422)


@api.exception_handler(FormValidationFailed)
def form_validation_failed(request, exc: FormValidationFailed):
    return api.create_response(request, {"detail": INVALID, "errors": exc.errors}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return api.create_response(
        request, {"detail": "Clé d'API absente ou invalide."}, status=401
    )
