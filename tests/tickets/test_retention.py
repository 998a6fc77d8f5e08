from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from tests.factories import TicketFactory
from tickets.models import MessageKind, Status, TicketMessage
from tickets.services import ANONYMIZED, tickets_anonymize_expired
from worker.services import email_queue

pytestmark = pytest.mark.django_db

NOW = datetime(2028, 6, 1, 12, 0, tzinfo=UTC)


def closed_ticket(closed_at):
    ticket = TicketFactory(
        status=Status.CLOS,
        closed_at=closed_at,
        resolved_at=closed_at,
        requester_name="Claire Dupont",
        email="claire@exemple.fr",
        phone="+33102030405",
    )
    TicketMessage.objects.create(
        ticket=ticket, kind=MessageKind.REQUEST, body="Mon IBAN…", created_at=closed_at
    )
    TicketMessage.objects.create(
        ticket=ticket, kind=MessageKind.NOTE, body="Vu avec N2", created_at=closed_at
    )
    return ticket


def test_closed_tickets_past_retention_are_anonymised_keeping_the_figures(settings):
    settings.TICKET_RETENTION_MONTHS = 24
    old = closed_ticket(datetime(2026, 5, 1, tzinfo=UTC))
    recent = closed_ticket(datetime(2026, 7, 1, tzinfo=UTC))
    open_old = TicketFactory(status=Status.EN_COURS, email="ouvert@exemple.fr")
    email_queue(
        template="ticket_acknowledgement", to_email=old.email, context={"x": 1}, ticket_id=old.pk
    )
    with freeze_time(NOW):
        assert tickets_anonymize_expired() == 1
        assert tickets_anonymize_expired() == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.requester_name, old.email, old.phone, old.description) == (
        ANONYMIZED,
        "",
        "",
        ANONYMIZED,
    )
    assert old.anonymized_at == NOW
    # Figures stay: timestamps, queue, motif, SIRET.
    assert old.closed_at and old.resolved_at and old.created_at and old.queue_id
    assert old.siret and old.motif
    bodies = dict(old.messages.values_list("kind", "body"))
    assert bodies == {MessageKind.REQUEST: ANONYMIZED, MessageKind.NOTE: "Vu avec N2"}
    assert old.emails.get().to_email == ""
    assert recent.email == "claire@exemple.fr"
    open_old.refresh_from_db()
    assert open_old.email == "ouvert@exemple.fr"
