"""The load test removes the requests it created, and only those."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from bench import load
from tests.factories import TicketFactory
from tickets.documents import documents_storage
from tickets.models import DocumentKind, DocumentSource, Ticket, TicketDocument

pytestmark = pytest.mark.django_db


def _document(ticket: Ticket) -> TicketDocument:
    storage = documents_storage()
    stored = storage.save(f"tickets/{ticket.pk}/bench.pdf", ContentFile(b"%PDF-1.4 bench"))
    preview = storage.save(f"tickets/{ticket.pk}/bench.png", ContentFile(b"png"))
    return TicketDocument.objects.create(
        ticket=ticket,
        kind=DocumentKind.KBIS,
        source=DocumentSource.API,
        name="kbis.pdf",
        content_type="application/pdf",
        size=14,
        sha256="0" * 64,
        storage_name=stored,
        preview_name=preview,
        created_at=timezone.now(),
    )


def test_the_requests_a_run_created_are_removed_with_their_files():
    since = timezone.now()
    intake = TicketFactory(email="charge-1733241600000000000-1-17@exemple.fr")
    upload = TicketFactory(email="upload-183501-3@exemple.fr")
    document = _document(upload)
    # Kept: a real requester, a look-alike address, and a load-test request of an earlier
    # run (before ``since``).
    real = TicketFactory(email="marie.dupont@exemple.fr")
    lookalike = TicketFactory(email="charge-abc-1-2@exemple.fr")
    earlier = TicketFactory(email="charge-1-1-1@exemple.fr")
    Ticket.objects.filter(pk=earlier.pk).update(created_at=since - timedelta(minutes=5))

    assert load.remove_created(since) == 2

    left = set(Ticket.objects.values_list("pk", flat=True))
    assert intake.pk not in left and upload.pk not in left
    assert {real.pk, lookalike.pk, earlier.pk} <= left
    assert not TicketDocument.objects.filter(pk=document.pk).exists()
    storage = documents_storage()
    assert not storage.exists(document.storage_name)
    assert not storage.exists(document.preview_name)
    assert load.remove_created(since) == 0
