"""A database error in the middle of a service leaves nothing half-written and sends
nothing. Real transactions (transaction=True), so the rollback is the database's."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core import mail
from django.db import DatabaseError, connection

from tickets.models import FollowUpLink, Ticket, TicketEvent, TicketMessage
from tickets.services import ticket_event_record
from tickets.services.events import ticket_events_record
from tickets.services.intake import SINGLE_STATEMENT_VENDORS
from worker.models import OutboundEmail

# serialized_rollback: a plain transactional flush re-creates the content types with new ids,
# which breaks the serialized restore of the transactional tests that run after this one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def failing_on(kind):
    def record(**kwargs):
        if kwargs["kind"] == kind:
            raise DatabaseError("simulated failure")
        return ticket_event_record(**kwargs)

    return record


def failing_events_on(kind):
    """Intake writes its two events in one INSERT: fail it when it holds ``kind``."""

    def record(**kwargs):
        if any(event_kind == kind for event_kind, _ in kwargs["events"]):
            raise DatabaseError("simulated failure")
        return ticket_events_record(**kwargs)

    return record


def _fail(*args, **kwargs):
    raise DatabaseError("simulated failure")


# Where intake can fail once it has written something: its events (the ORM path; on
# PostgreSQL the ticket's rows are one statement, which cannot stop halfway), the apps'
# receivers of ``ticket_created`` (the notices' links), the acknowledgement's outbox row.
HALFWAY = {
    "created": ("tickets.services.intake.ticket_events_record", failing_events_on("created")),
    "routed": ("tickets.services.intake.ticket_events_record", failing_events_on("routed")),
    "receivers": ("tickets.services.intake.ticket_created.send", _fail),
    "outbox": ("tickets.services.intake.email_queue", _fail),
}


if connection.vendor in SINGLE_STATEMENT_VENDORS:
    del HALFWAY["created"], HALFWAY["routed"]


@pytest.mark.parametrize("where", HALFWAY)
def test_intake_failing_halfway_writes_nothing(valid_request_data, where):
    from tests.support.intake import submit

    target, failure = HALFWAY[where]
    with mock.patch(target, side_effect=failure):
        with pytest.raises(DatabaseError):
            submit(valid_request_data)
    assert not Ticket.objects.exists()
    assert not TicketMessage.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not FollowUpLink.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []
    # The next request works. (Its number may follow a gap: on PostgreSQL numbers come
    # from a sequence, which does not give back the failed request's number.)
    ticket = submit(valid_request_data).ticket
    assert re.fullmatch(r"AP-\d{4}-\d{6}", ticket.reference)
    assert list(Ticket.objects.values_list("pk", flat=True)) == [ticket.pk]
    assert len(mail.outbox) == 1


def test_status_change_failing_halfway_keeps_the_old_state(valid_request_data, agent):
    from tests.support.intake import submit
    from tickets.services import ticket_change_status

    ticket = submit(valid_request_data).ticket
    with mock.patch(
        "tickets.services.work.ticket_event_record", side_effect=failing_on("status_changed")
    ):
        with pytest.raises(DatabaseError):
            ticket_change_status(ticket=ticket, actor=agent, new_status="en_attente")
    ticket.refresh_from_db()
    assert ticket.status == "nouveau"
    assert ticket.version == 1
    assert ticket.sla_paused_at is None
    assert not ticket.sla_pauses.exists()
