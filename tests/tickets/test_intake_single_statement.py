"""PostgreSQL writes a new ticket's rows in one statement (``_create_ticket_pg``); other
databases through the ORM. Both must write the same rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from freezegun import freeze_time

from tests.support.intake import submit
from tickets.models import Source, Ticket
from tickets.services import intake
from worker.models import OutboundEmail

# PostgreSQL's path: skipped on SQLite, required in CI's PostgreSQL pass.
pytestmark = [pytest.mark.django_db, pytest.mark.services]

SKIPPED = {"id", "reference", "email"}


def _rows(ticket: Ticket) -> dict:
    ticket = Ticket.objects.get(pk=ticket.pk)  # as stored, not as intake built it
    return {
        "ticket": {k: v for k, v in model_to_dict(ticket).items() if k not in SKIPPED}
        | {"updated_at": ticket.updated_at, "created_at": ticket.created_at},
        "messages": [
            {k: v for k, v in model_to_dict(m).items() if k not in {"id", "ticket"}}
            | {"created_at": m.created_at}
            for m in ticket.messages.order_by("id")
        ],
        "events": [
            (e.kind, e.data, e.actor_id, e.created_at) for e in ticket.events.order_by("id")
        ],
        "links": [
            (link.token_hash, link.created_at, link.sent_at, link.revoked_at, link.created_by_id)
            for link in ticket.followup_links.order_by("id")
        ],
    }


@freeze_time("2026-03-04 10:15:00")
def test_the_single_statement_writes_what_the_orm_path_writes(valid_request_data, monkeypatch):
    assert connection.vendor in intake.SINGLE_STATEMENT_VENDORS
    valid_request_data["denomination"] = "L'Atelier <b>d'été</b> — 100 % « bio »"
    one = submit({**valid_request_data, "email": "un@exemple.fr"}, source=Source.API).ticket
    monkeypatch.setattr(intake, "SINGLE_STATEMENT_VENDORS", ())
    two = submit({**valid_request_data, "email": "deux@exemple.fr"}, source=Source.API).ticket

    assert _rows(one) == _rows(two)
    rows = _rows(one)
    assert [e[0] for e in rows["events"]] == ["created", "routed"]
    assert rows["ticket"]["denomination"] == valid_request_data["denomination"]
    assert rows["links"] == [("", one.created_at, None, None, None)]
    # The instance intake handed on (to the signal and the acknowledgement) is the stored
    # ticket.
    stored = Ticket.objects.get(pk=one.pk)
    assert model_to_dict(one) == model_to_dict(stored)
    assert one.reference == stored.reference and one.queue.slug == stored.queue.slug
    # Each acknowledgement carries its own ticket's link.
    for ticket in (one, two):
        email = OutboundEmail.objects.get(ticket_id=ticket.pk)
        link = ticket.followup_links.get()
        assert email.context["secret_link"] == {"kind": "followup", "id": link.pk}
