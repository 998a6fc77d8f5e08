"""A notice scheduled through the agents' pages goes up at its start and down at its end,
by the beat sweep alone: on the public home page and in the extranet API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from backoffice.notices.models import IncidentNotice, NoticeState
from backoffice.notices.tasks import notices_sweep

pytestmark = pytest.mark.django_db

# Load the URLconf (and the API's pydantic schemas) before any freeze_time.
reverse("backoffice:notices")

START = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # 14:00 in Paris
END = START + timedelta(minutes=30)
TITLE = "Maintenance de l'extranet"
TEXT = "Les demandes d'indemnisation <b>ne sont pas</b> transmises pendant la maintenance."


def public_state(client) -> tuple[bool, list[str]]:
    home = client.get("/")
    assert home.status_code == 200
    api = client.get("/api/v1/notices/active")
    assert api.status_code == 200
    return TITLE in unescape(home.content.decode()), [n["title"] for n in api.json()]


def test_a_notice_scheduled_in_the_ui_is_published_and_expired_by_the_sweep(agent, verified_client):
    staff = verified_client(agent)
    public = Client()
    with freeze_time(START - timedelta(minutes=2)):
        response = staff.post(
            reverse("backoffice:notice_create"),
            data={
                "title": TITLE,
                "text": TEXT,
                "link": "",
                "level": "warning",
                "starts_at": "15/06/2026 13:00",
                "ends_at": "",
            },
        )
        assert response.status_code == 302
        notice = IncidentNotice.objects.get()
        # The agent sets the window on the "Programmer" form (Paris time) and schedules.
        response = staff.post(
            reverse("backoffice:notice_schedule", args=[notice.pk]),
            data={"starts_at": "15/06/2026 14:00", "ends_at": "15/06/2026 14:30"},
        )
        assert response.status_code == 302
        notice.refresh_from_db()
        assert (notice.state, notice.starts_at, notice.ends_at) == (
            NoticeState.SCHEDULED,
            START,
            END,
        )
        notices_sweep.delay()
        assert public_state(public) == (False, [])

    with freeze_time(START - timedelta(seconds=1)):
        notices_sweep.delay()
        assert public_state(public) == (False, [])

    # Beat runs the sweep every 30 seconds: the notice is up within a minute of its start.
    with freeze_time(START + timedelta(seconds=30)):
        notices_sweep.delay()
        notice.refresh_from_db()
        assert notice.state == NoticeState.PUBLISHED
        assert public_state(public) == (True, [TITLE])
        home = public.get("/").content.decode()
        assert "&lt;b&gt;ne sont pas&lt;/b&gt;" in home and "<b>ne sont pas</b>" not in home
        # And in the back-office, on every page.
        assert TITLE in unescape(staff.get(reverse("backoffice:notices")).content.decode())

    with freeze_time(END + timedelta(seconds=30)):
        notices_sweep.delay()
        notice.refresh_from_db()
        assert notice.state == NoticeState.EXPIRED
        assert public_state(public) == (False, [])

    history = list(notice.events.values_list("kind", "actor"))
    assert history == [
        ("created", agent.pk),
        ("updated", agent.pk),
        ("scheduled", agent.pk),
        ("published", None),
        ("expired", None),
    ]
