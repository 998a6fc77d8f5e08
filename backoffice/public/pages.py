"""The public information pages: the accountant's entry of the home page ("Vous êtes
expert-comptable…", "CONTRAT DE PRESTATION") and the footer's mandatory pages
(accessibility statement, legal notice, personal data, cookies)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def accountant(request):
    return render(request, "public/pages/accountant.html")


@require_GET
def accessibility(request):
    return render(request, "public/pages/accessibility.html")


@require_GET
def legal_notice(request):
    return render(request, "public/pages/legal_notice.html")


@require_GET
def personal_data(request):
    return render(request, "public/pages/personal_data.html")


@require_GET
def cookies(request):
    return render(
        request,
        "public/pages/cookies.html",
        {
            "session_hours": settings.SESSION_COOKIE_AGE // 3600,
            "csrf_days": settings.CSRF_COOKIE_AGE // 86400,
        },
    )
