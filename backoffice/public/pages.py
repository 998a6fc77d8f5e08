"""The public information pages: the accountant's entry of the home page ("Vous êtes
expert-comptable…", "CONTRAT DE PRESTATION")."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def accountant(request):
    return render(request, "public/pages/accountant.html")
