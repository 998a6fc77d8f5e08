"""Dashboard figures checked against values computed by hand on a small fixture."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from freezegun import freeze_time

from backoffice.dashboard import dashboard_compute
from tests.factories import TicketFactory, UserFactory
from tickets.business_hours import PARIS
from tickets.models import Queue, Status

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=PARIS)
H = 3600.0


def at(day, hour=10):
    return datetime(2026, 6, day, hour, 0, tzinfo=PARIS)


@pytest.fixture
def fixture_tickets():
    hab = Queue.objects.get(slug="habilitation")
    gen = Queue.objects.get(slug="general")
    alice = UserFactory(first_name="Alice", last_name="Agent")
    bruno = UserFactory(first_name="Bruno", last_name="Second")
    resolved = [
        # created, first response after (h), resolved after (h), assignee, SLA res due after (h)
        (at(1), 1, 2, alice, 4),
        (at(2), 2, 4, alice, 4),
        (at(3), 3, 6, alice, 4),
        (at(4), 4, 8, bruno, 4),
        (at(5), 5, 10, bruno, 12),
    ]
    for created, fr, res, who, due in resolved:
        TicketFactory(
            queue=hab,
            status=Status.RESOLU,
            assignee=who,
            created_at=created,
            first_response_at=created + timedelta(hours=fr),
            resolved_at=created + timedelta(hours=res),
            sla_first_response_due=created + timedelta(hours=3),
            sla_resolution_due=created + timedelta(hours=due),
        )
    # Open tickets of various ages (at NOW = 30 June 12:00).
    TicketFactory(queue=hab, status=Status.NOUVEAU, created_at=NOW - timedelta(hours=2))
    TicketFactory(
        queue=hab, status=Status.EN_COURS, assignee=alice, created_at=NOW - timedelta(days=2)
    )
    TicketFactory(
        queue=gen, status=Status.EN_ATTENTE, assignee=bruno, created_at=NOW - timedelta(days=10)
    )
    TicketFactory(queue=gen, status=Status.NOUVEAU, created_at=NOW - timedelta(days=40))
    # Closed long ago, out of the period.
    TicketFactory(
        queue=gen,
        status=Status.CLOS,
        created_at=at(1) - timedelta(days=60),
        resolved_at=at(1) - timedelta(days=59),
        closed_at=at(1) - timedelta(days=50),
    )
    return {"hab": hab, "gen": gen, "alice": alice, "bruno": bruno}


@freeze_time(NOW)
def test_figures_match_hand_computed_values(fixture_tickets):
    f = fixture_tickets
    board = dashboard_compute(period_start=date(2026, 6, 1), period_end=date(2026, 6, 30))
    assert board.backlog == {
        f["hab"].pk: {"nouveau": 1, "en_cours": 1},
        f["gen"].pk: {"en_attente": 1, "nouveau": 1},
    }
    assert [(k, n) for k, _label, n in board.age_buckets] == [
        ("lt_1d", 1),
        ("1_3d", 1),
        ("3_7d", 0),
        ("7_30d", 1),
        ("gt_30d", 1),
    ]
    intake = dict(board.intake_per_day)
    assert intake[date(2026, 6, 1)] == 1 and intake[date(2026, 6, 5)] == 1
    assert intake[date(2026, 6, 28)] == 1 and intake[date(2026, 6, 30)] == 1
    assert sum(intake.values()) == 5 + 3  # five resolved + three open created in June
    # First responses 1..5 h: nearest rank p50 = 3rd = 3 h, p90 = 5th = 5 h.
    assert (board.first_response.count, board.first_response.p50, board.first_response.p90) == (
        5,
        pytest.approx(3 * H),
        pytest.approx(5 * H),
    )
    # Resolutions 2, 4, 6, 8, 10 h: p50 = 6 h, p90 = 10 h.
    assert board.resolution.p50 == pytest.approx(6 * H)
    assert board.resolution.p90 == pytest.approx(10 * H)
    # First response due at 3 h: met by 1, 2, 3 h → 3 of 5. Resolution due: met by the
    # tickets resolved in 2 h, 4 h (due 4 h) and 10 h (due 12 h) → 3 of 5.
    assert board.sla_first_response == (3, 5)
    assert board.sla_resolution == (3, 5)
    by_name = {a.name: a for a in board.agents}
    assert (by_name["Alice Agent"].open, by_name["Alice Agent"].resolved) == (1, 3)
    assert (by_name["Bruno Second"].open, by_name["Bruno Second"].resolved) == (1, 2)
    # Alice resolved in 2, 4, 6 h → median 4 h; Bruno 8, 10 h → nearest rank p50 = 8 h.
    assert by_name["Alice Agent"].median_handling == pytest.approx(4 * H)
    assert by_name["Bruno Second"].median_handling == pytest.approx(8 * H)


@freeze_time(NOW)
def test_figures_can_be_scoped_to_a_queue(fixture_tickets):
    f = fixture_tickets
    board = dashboard_compute(
        period_start=date(2026, 6, 1), period_end=date(2026, 6, 30), queue_ids=[f["gen"].pk]
    )
    assert set(board.backlog) == {f["gen"].pk}
    assert board.resolution.count == 0
    assert board.resolution.p50 is None


@freeze_time(NOW)
def test_the_number_of_queries_does_not_depend_on_the_number_of_tickets(
    fixture_tickets, django_assert_num_queries
):
    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            dashboard_compute(period_start=date(2026, 6, 1), period_end=date(2026, 6, 30))
        return len(ctx.captured_queries)

    before = count()
    TicketFactory.create_batch(
        60,
        status=Status.RESOLU,
        created_at=at(10),
        first_response_at=at(10, 11),
        resolved_at=at(10, 15),
        assignee=fixture_tickets["alice"],
    )
    assert count() == before
