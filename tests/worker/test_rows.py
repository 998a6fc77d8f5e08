"""``worker.rows.row_insert`` writes what the ORM's ``create`` writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import TicketFactory
from worker import services
from worker.models import EMAIL, EmailStatus, OutboundEmail, OutboxJob
from worker.rows import row_insert

pytestmark = pytest.mark.django_db


def _stored(pk: int) -> dict:
    job = OutboxJob.objects.get(pk=pk)
    return model_to_dict(job) | {"created_at": job.created_at, "id": None}


@freeze_time("2026-03-04 10:15:00")
def test_it_writes_what_the_orm_writes_defaults_included():
    ticket = TicketFactory()
    now = timezone.now()
    context = {"nom": "L'Atelier <b>d'été</b> « bio »", "n": [1, 2.5, None], "ok": True}
    values = {"template": "modele", "to_email": "a@exemple.fr", "context": context,
              "ticket_id": ticket.pk, "next_attempt_at": now}  # fmt: skip
    by_orm = OutboxJob.objects.create(**values).pk
    by_row = row_insert(OutboxJob, values)
    assert by_row != by_orm
    assert _stored(by_row) == _stored(by_orm)
    stored = OutboxJob.objects.get(pk=by_row)
    assert (stored.kind, stored.status, stored.attempts, stored.created_at) == (
        EMAIL, EmailStatus.PENDING, 0, now
    )  # fmt: skip
    assert stored.context == context


def test_a_missing_required_value_or_an_unknown_field_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(OutboxJob, {"template": "modele"})  # next_attempt_at is NOT NULL
    with pytest.raises(TypeError, match="ticket"):
        row_insert(OutboxJob, {"ticket": None, "next_attempt_at": timezone.now()})


def test_email_queue_returns_the_stored_row(django_capture_on_commit_callbacks):
    ticket = TicketFactory()
    email = services.email_queue(
        template="ticket_acknowledgement", to_email="a@exemple.fr", context={"x": 1},
        ticket_id=ticket.pk,
    )  # fmt: skip
    stored = OutboundEmail.objects.get(pk=email.pk)
    assert model_to_dict(email) == model_to_dict(stored)
    assert email.created_at == stored.created_at and email.kind == EMAIL
