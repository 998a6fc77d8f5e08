"""The intake service: store, link, route, repeat rule, acknowledgement after commit."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from freezegun import freeze_time

from establishments.models import Establishment
from tests.factories import EstablishmentFactory
from tests.support.intake import submit
from tickets.models import EventKind, MessageKind, Motif, Queue, RoutingRule, Source, Ticket
from worker.models import EmailStatus, OutboundEmail

pytestmark = pytest.mark.django_db

EXPECTED_QUEUES = {
    Motif.HABILITATION_EXTRANET: "habilitation",
    Motif.FICHE_ETABLISSEMENT: "etablissement",
    Motif.DECISION_AUTORISATION: "etablissement",
    Motif.DEMANDE_INDEMNISATION: "indemnisation",
    Motif.CERTIFICAT_SIGNATURE: "certificats",
    Motif.AUTRES: "general",
}


@pytest.mark.parametrize("motif, queue_slug", EXPECTED_QUEUES.items())
def test_each_motif_is_routed_by_the_rule_table(valid_request_data, motif, queue_slug):
    result = submit({**valid_request_data, "motif": motif})
    assert result.ticket.queue.slug == queue_slug
    rule = RoutingRule.objects.get(motif=motif)
    assert result.ticket.priority == rule.priority
    routed = result.ticket.events.get(kind=EventKind.ROUTED)
    assert routed.data == {
        "queue": queue_slug,
        "queue_name": rule.queue.name,
        "rule_id": rule.pk,
        "priority": rule.priority,
    }


def test_changing_a_rule_changes_the_routing(valid_request_data):
    RoutingRule.objects.filter(motif=Motif.CERTIFICAT_SIGNATURE).update(
        queue=Queue.objects.get(slug="habilitation"), priority=40
    )
    ticket = submit({**valid_request_data, "motif": Motif.CERTIFICAT_SIGNATURE}).ticket
    assert ticket.queue.slug == "habilitation"
    assert ticket.priority == 40


def test_a_motif_without_active_rule_goes_to_the_default_queue(valid_request_data):
    RoutingRule.objects.filter(motif=Motif.DEMANDE_INDEMNISATION).update(is_active=False)
    ticket = submit({**valid_request_data, "motif": Motif.DEMANDE_INDEMNISATION}).ticket
    assert ticket.queue == Queue.objects.get(is_default=True)
    assert ticket.events.get(kind=EventKind.ROUTED).data["rule_id"] is None


@freeze_time("2026-03-15 10:00:00")
def test_it_stores_the_request_with_a_yearly_reference_and_its_timeline(valid_request_data):
    first = submit(valid_request_data).ticket
    second = submit({**valid_request_data, "email": "autre@exemple.fr"}).ticket
    assert first.reference == "AP-2026-000001"
    assert second.reference == "AP-2026-000002"
    assert first.siret == "73282932000074"
    assert first.phone == "+33102030405"
    assert first.status == "nouveau"
    assert [e.kind for e in first.events.all()] == [EventKind.CREATED, EventKind.ROUTED]
    assert first.messages.get().kind == MessageKind.REQUEST
    assert first.sla_first_response_due is not None


def test_references_restart_each_year(valid_request_data):
    with freeze_time("2026-12-31 22:00:00"):  # 23:00 in Paris: still 2026
        assert submit(valid_request_data).ticket.reference == "AP-2026-000001"
    with freeze_time("2026-12-31 23:30:00"):  # 00:30 in Paris: 2027
        other = {**valid_request_data, "email": "x@exemple.fr"}
        assert submit(other).ticket.reference == "AP-2027-000001"


def test_it_links_the_establishment_when_the_siret_matches(valid_request_data):
    establishment = EstablishmentFactory(siret="73282932000074")
    ticket = submit(valid_request_data).ticket
    assert ticket.establishment == establishment
    assert ticket.events.get(kind=EventKind.CREATED).data["establishment_known"] is True


def test_an_unknown_siret_is_stored_without_establishment(valid_request_data):
    ticket = submit(valid_request_data).ticket
    assert ticket.establishment is None
    assert not Establishment.objects.exists()


def test_a_repeated_request_joins_the_open_ticket(valid_request_data):
    first = submit(valid_request_data)
    again = submit(
        {**valid_request_data, "email": "CLAIRE.dupont@exemple.fr", "description": "Relance"},
        source=Source.API,
    )
    assert again.attached_to_existing is True
    assert again.ticket.pk == first.ticket.pk
    assert Ticket.objects.count() == 1
    assert list(first.ticket.messages.values_list("body", flat=True)) == [
        valid_request_data["description"],
        "Relance",
    ]
    assert first.ticket.events.filter(kind=EventKind.REQUEST_REPEATED).count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"motif": Motif.AUTRES},
        {"email": "quelquun.dautre@exemple.fr"},
        {"siret": "52601815500014"},
    ],
)
def test_a_request_differing_in_siret_motif_or_email_opens_a_new_ticket(valid_request_data, change):
    submit(valid_request_data)
    result = submit({**valid_request_data, **change})
    assert result.attached_to_existing is False
    assert Ticket.objects.count() == 2


def test_a_request_after_the_ticket_was_resolved_opens_a_new_ticket(valid_request_data, agent):
    from tickets.services import ticket_change_status

    first = submit(valid_request_data).ticket
    ticket_change_status(ticket=first, actor=agent, new_status="resolu")
    result = submit(valid_request_data)
    assert result.attached_to_existing is False
    assert result.ticket.pk != first.pk


def test_the_acknowledgement_is_sent_after_commit_with_the_reference(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = submit(valid_request_data).ticket
    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.to == ["claire.dupont@exemple.fr"]
    assert ticket.reference in message.subject
    assert ticket.reference in message.body
    assert "courriers indésirables" in message.body
    email = OutboundEmail.objects.get()
    assert email.status == EmailStatus.SENT
    assert ticket.events.filter(kind=EventKind.EMAIL_SENT).exists()


def test_the_repeat_acknowledgement_gives_the_existing_reference(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(valid_request_data).ticket
        submit(valid_request_data)
    assert len(mail.outbox) == 2
    assert ticket.reference in mail.outbox[1].body
    assert "déjà en cours" in mail.outbox[1].body


def test_no_email_is_enqueued_when_the_transaction_rolls_back(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                submit(valid_request_data)
                raise RuntimeError("something failed after the ticket was written")
    assert callbacks == []
    assert mail.outbox == []
    assert not Ticket.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_the_reference_format(valid_request_data):
    assert re.fullmatch(r"AP-\d{4}-\d{6}", submit(valid_request_data).ticket.reference)
