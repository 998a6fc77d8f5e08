"""SLA in business hours: holidays computed, opening hours, pauses, breaches."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.factories import TicketFactory
from tickets.business_hours import (
    PARIS,
    add_business_time,
    business_time_between,
    french_public_holidays,
)
from tickets.models import EventKind, SlaPause, Status
from tickets.services import sla_breaches_mark, ticket_change_status


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    "year, easter_monday, ascension, whit_monday",
    [
        (2026, date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)),
        (2027, date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)),
    ],
)
def test_moving_holidays_are_computed(year, easter_monday, ascension, whit_monday):
    holidays = french_public_holidays(year)
    assert {easter_monday, ascension, whit_monday} <= holidays
    assert len(holidays) == 11
    # Easter Sunday itself is a Sunday (closed anyway), not a listed holiday.
    assert easter_monday - timedelta(days=1) not in holidays


def test_fixed_holidays():
    assert {
        date(2026, 1, 1),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    } <= french_public_holidays(2026)


def test_business_time_skips_lunch_nights_and_weekends():
    # Friday 2026-03-13 16:30 + 3 business hours: 1 h Friday, then Monday 09:00-11:00.
    assert add_business_time(paris(2026, 3, 13, 16, 30), timedelta(hours=3)) == paris(
        2026, 3, 16, 11, 0
    )
    # 12:00 + 1 h: 30 min before lunch, 30 min after (13:30-14:00).
    assert add_business_time(paris(2026, 3, 16, 12, 0), timedelta(hours=1)) == paris(
        2026, 3, 16, 14, 0
    )
    # Submitted on Saturday night: the clock starts Monday 09:00.
    assert add_business_time(paris(2026, 3, 14, 23, 0), timedelta(hours=8)) == paris(
        2026, 3, 17, 9, 30
    )


@pytest.mark.parametrize(
    "start, duration, expected",
    [
        # Thursday 2 April 2026 16:00 + 16 h: Thu 1.5 h, Fri 7.5 h, Easter Monday (6 April)
        # skipped, Tue 7 h → 17:00. Without the holiday it would be Monday 17:00.
        (paris(2026, 4, 2, 16, 0), 16, paris(2026, 4, 7, 17, 0)),
        # Ascension 2026 (Thursday 14 May): Wed 7.5 h, Thu skipped, Fri 1 h.
        (paris(2026, 5, 13, 9, 0), 8.5, paris(2026, 5, 15, 10, 0)),
        # Whit Monday 2027 (17 May): Fri 7.5 h, weekend, Monday skipped, Tue 1 h.
        (paris(2027, 5, 14, 9, 0), 8.5, paris(2027, 5, 18, 10, 0)),
        # Easter Monday 2027 (29 March).
        (paris(2027, 3, 26, 9, 0), 8.5, paris(2027, 3, 30, 10, 0)),
        # Ascension 2027 (Thursday 6 May).
        (paris(2027, 5, 5, 9, 0), 8.5, paris(2027, 5, 7, 10, 0)),
        # Whit Monday 2026 (25 May).
        (paris(2026, 5, 22, 9, 0), 8.5, paris(2026, 5, 26, 10, 0)),
    ],
)
def test_holidays_are_not_business_days(start, duration, expected):
    assert add_business_time(start, timedelta(hours=duration)) == expected


def test_business_time_between_is_the_inverse_of_add():
    start = paris(2026, 4, 2, 10, 15)
    for hours in (1, 7.5, 16, 40):
        end = add_business_time(start, timedelta(hours=hours))
        assert business_time_between(start, end) == timedelta(hours=hours)


def test_settings_opening_hours_are_used(settings):
    settings.SLA_OPENING_HOURS = {5: [("10:00", "12:00")]}  # Saturdays only
    assert add_business_time(paris(2026, 3, 16, 9, 0), timedelta(hours=3)) == paris(
        2026, 3, 28, 11, 0
    )


@pytest.mark.django_db
def test_the_intake_sets_due_dates_in_business_hours(valid_request_data):
    from tests.support.intake import submit

    with freeze_time(paris(2026, 3, 13, 16, 30)):  # Friday, Habilitation: 8 h / 24 h
        ticket = submit(valid_request_data).ticket
    # Friday 1 h, Monday 3.5 h + 3.5 h → Monday 17:00.
    assert ticket.sla_first_response_due == paris(2026, 3, 16, 17, 0)
    # 24 h: Friday 1 h, Mon 7.5, Tue 7.5, Wed 7.5 (23.5), Thursday 9:30.
    assert ticket.sla_resolution_due == paris(2026, 3, 19, 9, 30)


@pytest.mark.django_db
def test_waiting_on_the_requester_pauses_the_clock(agent):
    with freeze_time(paris(2026, 3, 16, 9, 0)):
        ticket = TicketFactory(
            sla_first_response_due=paris(2026, 3, 16, 17, 0),
            sla_resolution_due=paris(2026, 3, 18, 17, 0),
        )
        ticket = ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_COURS)
    with freeze_time(paris(2026, 3, 16, 10, 0)):
        ticket = ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_ATTENTE)
        assert ticket.sla_paused_at is not None
    # Paused from Monday 10:00 to Tuesday 10:00: 7.5 business hours.
    with freeze_time(paris(2026, 3, 17, 10, 0)):
        assert sla_breaches_mark() == {"first_response": 0, "resolution": 0}
        ticket = ticket_change_status(ticket=ticket, actor=agent, new_status=Status.EN_COURS)
    assert ticket.sla_paused_at is None
    # Monday 17:00 + 7.5 h: Mon 0.5 h, Tue 3.5 h + 3.5 h → Tuesday 17:00.
    assert ticket.sla_first_response_due == paris(2026, 3, 17, 17, 0)
    assert ticket.sla_resolution_due == paris(2026, 3, 19, 17, 0)
    [pause] = SlaPause.objects.filter(ticket=ticket)
    assert pause.business_seconds == int(7.5 * 3600)
    assert pause.ended_at == paris(2026, 3, 17, 10, 0)


@pytest.mark.django_db
def test_breaches_are_marked_once(agent):
    ticket = TicketFactory(
        sla_first_response_due=paris(2026, 3, 16, 17, 0),
        sla_resolution_due=paris(2026, 3, 18, 17, 0),
    )
    paused = TicketFactory(status=Status.EN_ATTENTE, sla_resolution_due=paris(2026, 3, 16, 12, 0))
    with freeze_time(paris(2026, 3, 16, 16, 59)):
        assert sla_breaches_mark() == {"first_response": 0, "resolution": 0}
    with freeze_time(paris(2026, 3, 16, 17, 1)):
        assert sla_breaches_mark() == {"first_response": 1, "resolution": 0}
        assert sla_breaches_mark() == {"first_response": 0, "resolution": 0}
    with freeze_time(paris(2026, 3, 18, 17, 1)):
        assert sla_breaches_mark() == {"first_response": 0, "resolution": 1}
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == paris(2026, 3, 16, 17, 1)
    assert list(
        ticket.events.filter(kind=EventKind.SLA_BREACHED).values_list("data", flat=True)
    ) == [{"target": "first_response"}, {"target": "resolution"}]
    assert not paused.events.filter(kind=EventKind.SLA_BREACHED).exists()


@pytest.mark.django_db
def test_a_resolved_ticket_is_never_marked(agent):
    ticket = TicketFactory(status=Status.RESOLU, sla_resolution_due=paris(2026, 3, 16, 12, 0))
    with freeze_time(paris(2026, 3, 20, 12, 0)):
        assert sla_breaches_mark() == {"first_response": 0, "resolution": 0}
    assert not ticket.events.exists()
