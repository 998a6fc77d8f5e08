"""Business time for SLA targets: configurable opening hours, French public holidays
from the ``holidays`` library (never typed in), in the Europe/Paris time zone.

``SLA_OPENING_HOURS`` (setting): opening intervals per weekday, Monday = 0, e.g.
``{0: [("09:00", "12:30"), ("13:30", "17:30")], …}``; days not listed are closed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (the ``holidays`` library, so that
    a change of law is a dependency update, not a code change). Alsace-Moselle's two extra
    days are not counted: the ASP's support team works from national opening hours."""
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def _intervals(day: date) -> list[tuple[datetime, datetime]]:
    """The opening intervals of one day, as aware datetimes."""
    if day in french_public_holidays(day.year):
        return []
    spans = settings.SLA_OPENING_HOURS.get(day.weekday(), [])
    return [
        (
            datetime.combine(day, _parse(start), tzinfo=PARIS),
            datetime.combine(day, _parse(end), tzinfo=PARIS),
        )
        for start, end in spans
    ]


def add_business_time(start: datetime, duration: timedelta) -> datetime:
    """The moment when ``duration`` of business time has passed since ``start``."""
    remaining = duration
    current = start.astimezone(PARIS)
    day = current.date()
    for _ in range(3660):  # ten years of days: far beyond any SLA target
        for opens, closes in _intervals(day):
            if closes <= current:
                continue
            begin = max(opens, current)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
        current = datetime.combine(day, time(0, 0), tzinfo=PARIS)
    raise ValueError("No opening hours configured (SLA_OPENING_HOURS).")


def business_time_between(start: datetime, end: datetime) -> timedelta:
    """Business time elapsed between two moments (zero if end <= start)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    start, end = start.astimezone(PARIS), end.astimezone(PARIS)
    day = start.date()
    while day <= end.date():
        for opens, closes in _intervals(day):
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total
