"""Incident notices (S9): states, the worker's publication and expiry, display, API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from backoffice.notices.exceptions import NoticeError
from backoffice.notices.models import IncidentNotice, NoticeState
from backoffice.notices.services import (
    notice_create,
    notice_publish_now,
    notice_schedule,
    notice_update,
    notice_withdraw,
    notices_sweep,
)
from tickets.models import EventKind

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
INCIDENT = (
    "Un incident technique s'est produit sur l'extranet activité partielle hier. "
    "Les opérations de correction sont en cours."
)


def make_notice(actor, *, start=T0, end=T0 + timedelta(hours=2), **kwargs) -> IncidentNotice:
    values = {
        "title": "Information",
        "text": INCIDENT,
        "level": "warning",
        "starts_at": start,
        "ends_at": end,
        **kwargs,
    }
    return notice_create(actor=actor, **values)


def test_a_scheduled_notice_is_published_at_its_start_and_expired_at_its_end(agent, client):
    with freeze_time(T0 - timedelta(minutes=5)):
        notice = notice_schedule(notice=make_notice(agent), actor=agent)
        assert notices_sweep() == {"published": 0, "expired": 0}
        assert "Information" not in client.get("/assistance/").content.decode()
    with freeze_time(T0 + timedelta(seconds=30)):
        assert notices_sweep() == {"published": 1, "expired": 0}
        assert notices_sweep() == {"published": 0, "expired": 0}  # idempotent
        notice.refresh_from_db()
        assert notice.state == NoticeState.PUBLISHED
        page = client.get("/assistance/").content.decode()
        assert "Un incident technique s&#x27;est produit" in page
        assert "fr-notice--warning" in page
    with freeze_time(T0 + timedelta(hours=2, seconds=30)):
        assert notices_sweep() == {"published": 0, "expired": 1}
        notice.refresh_from_db()
        assert notice.state == NoticeState.EXPIRED
        assert "Un incident technique" not in client.get("/assistance/").content.decode()
    kinds = list(notice.events.values_list("kind", "actor"))
    assert kinds == [
        ("created", agent.pk),
        ("scheduled", agent.pk),
        ("published", None),
        ("expired", None),
    ]


def test_a_notice_is_not_shown_past_its_end_even_if_the_sweep_is_late(agent, client):
    with freeze_time(T0):
        notice_publish_now(notice=make_notice(agent), actor=agent)
        assert "Un incident technique" in client.get("/assistance/").content.decode()
    with freeze_time(T0 + timedelta(hours=3)):
        # No sweep ran: the notice is still "published" but its end has passed.
        assert "Un incident technique" not in client.get("/assistance/").content.decode()
        assert client.get("/api/v1/notices/active").json() == []


def test_missed_sweeps_catch_up(agent):
    with freeze_time(T0 - timedelta(hours=1)):
        shown_late = notice_schedule(notice=make_notice(agent), actor=agent)
        whole_window_missed = notice_schedule(
            notice=make_notice(agent, start=T0, end=T0 + timedelta(minutes=20)), actor=agent
        )
    # The worker was down from before T0 until T0 + 1 hour.
    with freeze_time(T0 + timedelta(hours=1)):
        assert notices_sweep() == {"published": 1, "expired": 1}
    shown_late.refresh_from_db()
    whole_window_missed.refresh_from_db()
    assert shown_late.state == NoticeState.PUBLISHED
    assert whole_window_missed.state == NoticeState.EXPIRED
    assert whole_window_missed.published_at is None


def test_notice_text_with_html_renders_as_text(agent, client):
    with freeze_time(T0):
        notice_publish_now(
            notice=make_notice(
                agent, title="<b>Titre</b>", text='<script>alert(1)</script><a href="x">lien</a>'
            ),
            actor=agent,
        )
        page = client.get("/assistance/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Titre&lt;/b&gt;" in page


def test_states_are_enforced(agent):
    with freeze_time(T0):
        notice = make_notice(agent)
        withdrawn = notice_withdraw(
            notice=notice_publish_now(notice=notice, actor=agent), actor=agent
        )
        assert withdrawn.state == NoticeState.WITHDRAWN
        with pytest.raises(NoticeError):
            notice_publish_now(notice=withdrawn, actor=agent)
        with pytest.raises(NoticeError):
            notice_update(notice=withdrawn, actor=agent, title="Autre")
        with pytest.raises(NoticeError):
            notice_withdraw(notice=make_notice(agent), actor=agent)  # a draft: nothing to withdraw


def test_values_are_checked(agent):
    with pytest.raises(NoticeError, match="postérieure"):
        make_notice(agent, end=T0 - timedelta(minutes=1))
    with pytest.raises(NoticeError, match="Motif inconnu"):
        make_notice(agent, affected_motifs=["piratage"])
    with freeze_time(T0 + timedelta(hours=5)):
        with pytest.raises(NoticeError, match="déjà passée"):
            notice_schedule(notice=make_notice(agent), actor=agent)


def test_edits_are_recorded_with_before_and_after(agent, supervisor):
    notice = make_notice(agent)
    notice_update(notice=notice, actor=supervisor, title="Incident résolu", level="info")
    event = notice.events.get(kind="updated")
    assert event.actor == supervisor
    assert event.data == {
        "title": {"before": "Information", "after": "Incident résolu"},
        "level": {"before": "warning", "after": "info"},
    }


def test_withdrawal_takes_the_notice_down_at_once(
    agent, client, django_capture_on_commit_callbacks
):
    with freeze_time(T0):
        notice = notice_publish_now(notice=make_notice(agent), actor=agent)
        assert len(client.get("/api/v1/notices/active").json()) == 1
        with django_capture_on_commit_callbacks(execute=True):
            notice_withdraw(notice=notice, actor=agent)
        assert client.get("/api/v1/notices/active").json() == []


def test_the_api_serves_live_notices_with_etag_and_304(
    agent, client, django_capture_on_commit_callbacks
):
    with freeze_time(T0):
        notice = notice_publish_now(
            notice=make_notice(agent, link="https://www.asp-public.fr/incident"), actor=agent
        )
        response = client.get("/api/v1/notices/active")
        assert response.status_code == 200
        assert response.json() == [
            {
                "id": notice.pk,
                "title": "Information",
                "text": INCIDENT,
                "level": "warning",
                "link": "https://www.asp-public.fr/incident",
                "starts_at": "2026-06-01T08:00:00Z",
                "ends_at": "2026-06-01T10:00:00Z",
            }
        ]
        assert "max-age=30" in response["Cache-Control"]
        assert "public" in response["Cache-Control"]
        etag = response["ETag"]
        again = client.get("/api/v1/notices/active", HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        assert again.content == b""
        with django_capture_on_commit_callbacks(execute=True):
            notice_update(notice=notice, actor=agent, text="Texte corrigé.")
        changed = client.get("/api/v1/notices/active", HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200
        assert changed["ETag"] != etag


def test_new_tickets_with_affected_motifs_are_linked_to_the_live_notice(agent, valid_request_data):
    from tests.support.intake import submit

    with freeze_time(T0):
        notice = notice_publish_now(
            notice=make_notice(agent, affected_motifs=["demande_indemnisation"]), actor=agent
        )
        linked = submit({**valid_request_data, "motif": "demande_indemnisation"}).ticket
        other = submit({**valid_request_data, "motif": "autres"}).ticket
    assert list(notice.tickets.all()) == [linked]
    assert linked.events.get(kind=EventKind.NOTICE_LINKED).data == {"notice_ids": [notice.pk]}
    assert not other.incident_notices.exists()
    assert timezone.now()
