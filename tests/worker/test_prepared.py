"""Reads prepared once per connection (``worker.prepared``): same rows as unprepared, one
PREPARE per connection, and every case that must not prepare runs as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.test import Client

from accounts.extranet.models import AccountReassignment
from accounts.extranet.reassignment import reassignment_prepare
from accounts.extranet.selectors import (
    _reassignment_file_query,
    file_version_of,
    reassignment_file_for,
    reassignments_awaiting_page,
)
from tests.accounts.helpers import record_siret_verification
from tests.factories import EstablishmentFactory, ExtranetAccountFactory, TicketFactory
from tests.support.auth import otp_login
from tickets.models import Ticket
from worker import prepared as prepared_module
from worker.prepared import _type_of, numbered, prepared


def test_placeholders_are_numbered_and_escaped_percents_restored():
    sql = "SELECT a FROM t WHERE b = %s AND c LIKE '%%x' AND d IN (%s, %s)"
    assert numbered(sql, 3) == "SELECT a FROM t WHERE b = $1 AND c LIKE '%x' AND d IN ($2, $3)"
    assert numbered(sql, 2) is None  # another count: not this statement
    assert numbered("SELECT %(name)s", 1) is None  # another placeholder style
    assert numbered("SELECT 5 % 2 WHERE a = %s", 1) is None  # a lone percent


def test_parameters_get_a_declared_type_or_none():
    assert _type_of(True) == "boolean"
    assert _type_of(12) == "integer"
    assert _type_of(2**40) == "bigint"
    assert _type_of("x") == "text"
    assert _type_of(datetime(2026, 1, 1, tzinfo=UTC)) == "timestamptz"
    assert _type_of(timedelta(days=90)) == "interval"
    assert _type_of(Decimal("1.5")) == "numeric"
    assert _type_of(None) is None and _type_of({"a": 1}) is None  # run unprepared


def test_a_label_must_be_a_short_sql_name():
    with pytest.raises(ValueError):
        with prepared("Reassignment file; DROP"):
            pass


# --- On PostgreSQL, outside a test transaction (pages read outside transactions) -------------

needs_pg = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements: PostgreSQL"
)


def _statements(label: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE %s", [label + "%"])
        return {row[0] for row in cursor.fetchall()}


def _reassignment(agent) -> AccountReassignment:
    establishment = EstablishmentFactory(siret="73282932000074", email="contact@bm.fr")
    ExtranetAccountFactory(establishment=establishment, holder_email="ancienne@bm.fr")
    ticket = TicketFactory(
        siret=establishment.siret,
        denomination="Boulangerie du Marché",
        email="claire.dupont@gmail.com",
        phone="+33102030405",
    )
    record_siret_verification(ticket, actor=agent)
    return reassignment_prepare(
        ticket=ticket,
        actor=agent,
        new_holder_last_name="Dupont",
        new_holder_first_name="Claire",
        new_holder_email="claire.dupont@gmail.com",
        new_holder_phone="+33102030405",
        evidence_notes="Kbis du 02/05.",
    ).reassignment


def _as_dict(reassignment: AccountReassignment) -> dict:
    values = {k: v for k, v in vars(reassignment).items() if not k.startswith("_")}
    values["ticket"] = vars(reassignment.ticket).copy()
    values["ticket"].pop("_state")
    values["establishment"] = reassignment.account.establishment.siret
    values["prepared_by"] = reassignment.prepared_by.email
    values["queue"] = reassignment.ticket.queue.slug
    return values


@needs_pg
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_reassignment_file_reads_the_same_row_prepared_once_per_connection(agent, supervisor):
    reassignment = _reassignment(agent)
    assert not connection.in_atomic_block
    before = _statements("reassignment_file")

    first = reassignment_file_for(actor=supervisor, pk=reassignment.pk)
    again = reassignment_file_for(actor=supervisor, pk=reassignment.pk)
    created = _statements("reassignment_file") - before
    assert len(created) == 1  # one PREPARE, then EXECUTE

    # The same query, unprepared.
    plain = _reassignment_file_query(supervisor, reassignment.pk)
    assert _as_dict(first) == _as_dict(plain) == _as_dict(again)
    assert file_version_of(first) == file_version_of(plain)
    assert first.sig_webmail is True  # type: ignore[attr-defined]  # gmail.com holder

    # An agent's scope is another statement (its own text); a missing pk reads nothing.
    assert reassignment_file_for(actor=agent, pk=reassignment.pk) is not None
    assert reassignment_file_for(actor=supervisor, pk=reassignment.pk + 1000) is None

    rows, cursor = reassignments_awaiting_page(actor=supervisor)
    assert [r.pk for r in rows] == [reassignment.pk] and cursor is None
    assert _statements("reassignments_awaiting")


@needs_pg
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_statement_the_server_lost_is_prepared_again(agent, supervisor):
    reassignment = _reassignment(agent)
    assert reassignment_file_for(actor=supervisor, pk=reassignment.pk) is not None
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does to them
    assert not _statements("reassignment_file")
    again = reassignment_file_for(actor=supervisor, pk=reassignment.pk)
    assert again is not None and again.pk == reassignment.pk
    assert len(_statements("reassignment_file")) == 1


@needs_pg
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inside_a_transaction_a_first_use_is_not_prepared(agent, supervisor):
    reassignment = _reassignment(agent)
    with transaction.atomic():
        found = reassignment_file_for(actor=supervisor, pk=reassignment.pk)
        assert found is not None and found.pk == reassignment.pk
        assert not _statements("reassignment_file")
    # Prepared outside, then used inside: EXECUTE works there too.
    reassignment_file_for(actor=supervisor, pk=reassignment.pk)
    with transaction.atomic():
        assert reassignment_file_for(actor=supervisor, pk=reassignment.pk).pk == reassignment.pk


@needs_pg
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_statement_postgresql_refuses_to_prepare_runs_unprepared(monkeypatch):
    TicketFactory()
    monkeypatch.setattr(prepared_module, "_REFUSED", set())
    # substring(text, numeric) does not exist: the declared type does not fit.
    odd = RawSQL("length(substring('abcdef', %s))", [Decimal("3")], output_field=IntegerField())
    with prepared("odd_read"):
        values = list(Ticket.objects.annotate(odd=odd).values_list("odd", flat=True))
        again = list(Ticket.objects.annotate(odd=odd).values_list("odd", flat=True))
    assert values == again == [4]
    assert not _statements("odd_read")
    assert len(prepared_module._REFUSED) == 1


@needs_pg
@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_approval_page_reads_its_file_prepared(agent, supervisor):
    reassignment = _reassignment(agent)
    client = Client()
    otp_login(client, supervisor)
    url = f"/backoffice/reattributions/{reassignment.pk}/"
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "approve-form" in html and "73282932000074" in html
    assert len(_statements("reassignment_file")) >= 1
