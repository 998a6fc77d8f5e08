"""Values the public pages' texts quote from the settings (durations, the simulator's
address), so that a page never says "60 minutes" while the setting says otherwise."""

from __future__ import annotations

from django.conf import settings


def public_settings(request):
    return {
        "validity_minutes": settings.RECOVERY_LINK_VALIDITY_MINUTES,
        "retention_months": settings.TICKET_RETENTION_MONTHS,
        "simulator_url": settings.SIMULATOR_URL,
    }
