"""The towns of a postal code, for the "Ville" field of "Créer mon espace" (S3: "Veuillez
saisir un code postal", then a list of towns). Read by static/js/postal-code-towns.js;
without JavaScript the field stays free text."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from establishments.towns import postal_code_towns


@require_GET
def postal_code_towns_view(request):
    code = request.GET.get("code_postal", "")
    response = JsonResponse({"postal_code": code, "towns": postal_code_towns(postal_code=code)})
    # The same answer for everyone, changed only by a registry import.
    response["Cache-Control"] = "public, max-age=3600"
    return response
