"""Retention: the requester's personal data is erased from tickets closed more than
``TICKET_RETENTION_MONTHS`` ago (beat, daily)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from worker.models import OutboundEmail

from ..documents import documents_erase
from ..models import FollowUpLink, MessageKind, Status, Ticket, TicketMessage

logger = logging.getLogger(__name__)


ANONYMIZED = "[anonymisé]"


def tickets_anonymize_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Erase the requester's personal data from tickets closed more than
    TICKET_RETENTION_MONTHS ago (beat, daily). Keeps what the dashboards count: queue,
    motif, status, timestamps, SIRET. The requester's documents are deleted from the
    storage and their names erased; their follow-up links stop working. Bounded batches;
    idempotent."""

    now = now or timezone.now()
    cutoff = now - timedelta(days=round(settings.TICKET_RETENTION_MONTHS * 30.44))
    ids = list(
        Ticket.objects.filter(
            status=Status.CLOS, closed_at__lt=cutoff, anonymized_at__isnull=True
        ).values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return 0
    # The documents' files go first, from the storage: a ticket whose files could not all
    # be deleted keeps its data until the next run.
    ids = sorted(documents_erase(ticket_ids=ids, now=now, anonymized=ANONYMIZED))
    if not ids:
        return 0
    with transaction.atomic():
        Ticket.objects.filter(pk__in=ids).update(
            requester_name=ANONYMIZED,
            phone="",
            email="",
            description=ANONYMIZED,
            anonymized_at=now,
        )
        TicketMessage.objects.filter(ticket_id__in=ids).exclude(kind=MessageKind.NOTE).update(
            body=ANONYMIZED, received_from=""
        )
        OutboundEmail.objects.filter(ticket_id__in=ids).update(to_email="", context={})
        FollowUpLink.objects.filter(ticket_id__in=ids, revoked_at__isnull=True).update(
            revoked_at=now
        )
    logger.info("Anonymised %s closed tickets.", len(ids))
    return len(ids)
