from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import IncidentNotice, NoticeState

LIVE_NOTICES_CACHE_KEY = "notices:live:v1"
# Every page shows the live notices: read them at most once per this many seconds per
# cache; publishing or withdrawing clears the entry on commit.
LIVE_NOTICES_CACHE_SECONDS = 15


def notices_live_queryset(*, now=None) -> QuerySet[IncidentNotice]:
    """Published notices whose end has not passed. The end is checked here too, so a notice
    never outlives its end even if the sweep is late."""
    now = now or timezone.now()
    return IncidentNotice.objects.filter(state=NoticeState.PUBLISHED).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    ).order_by("-starts_at", "-id")


def notices_live() -> list[dict]:
    """The live notices as plain data, cached briefly (they are on every page)."""
    cached = cache.get(LIVE_NOTICES_CACHE_KEY)
    if cached is not None:
        now = timezone.now()
        return [n for n in cached if n["ends_at"] is None or n["ends_at"] > now]
    notices = [
        {
            "id": n.pk,
            "title": n.title,
            "text": n.text,
            "level": n.level,
            "link": n.link or None,
            "starts_at": n.starts_at,
            "ends_at": n.ends_at,
            "affected_motifs": list(n.affected_motifs),
        }
        for n in notices_live_queryset()
    ]
    cache.set(LIVE_NOTICES_CACHE_KEY, notices, LIVE_NOTICES_CACHE_SECONDS)
    return notices


def notice_ids_live_for_motif(*, motif: str) -> list[int]:
    return [n["id"] for n in notices_live() if motif in n["affected_motifs"]]


def notices_for_agents() -> QuerySet[IncidentNotice]:
    return IncidentNotice.objects.select_related("created_by").order_by("-starts_at", "-id")
