"""The agents' incident-notice pages ("Bandeaux"): list, create, edit, preview, schedule,
unschedule, publish now, withdraw; permissions and French form errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from backoffice.notices.models import IncidentNotice, NoticeEvent, NoticeState
from backoffice.notices.services import (
    notice_create,
    notice_publish_now,
    notice_schedule,
    notice_update,
    notice_withdraw,
    notices_sweep,
)

pytestmark = pytest.mark.django_db

# Load the URLconf (and the API's pydantic schemas) before any freeze_time: a schema built
# while time is frozen would see freezegun's datetime class and fail.
reverse("backoffice:notices")

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 10:00 in Paris


def make_notice(actor, *, state=NoticeState.DRAFT, start=None, end=None, **kwargs):
    if state == NoticeState.EXPIRED and start is None:
        # A short window of its own, so the sweep that expires it leaves the others alone.
        start, end = timezone.now() + timedelta(minutes=1), timezone.now() + timedelta(minutes=2)
    start = start or timezone.now() + timedelta(hours=1)
    end = end if end is not None else start + timedelta(hours=2)
    notice = notice_create(
        actor=actor,
        title=kwargs.pop("title", "Incident extranet"),
        text=kwargs.pop("text", "Les déclarations sont retardées."),
        level=kwargs.pop("level", "warning"),
        starts_at=start,
        ends_at=end,
        **kwargs,
    )
    if state == NoticeState.SCHEDULED:
        notice = notice_schedule(notice=notice, actor=actor)
    elif state == NoticeState.PUBLISHED:
        notice = notice_publish_now(notice=notice, actor=actor)
    elif state == NoticeState.WITHDRAWN:
        notice = notice_withdraw(notice=notice_publish_now(notice=notice, actor=actor), actor=actor)
    elif state == NoticeState.EXPIRED:
        notice_schedule(notice=notice, actor=actor)
        notices_sweep(now=end + timedelta(seconds=1))
        notice.refresh_from_db()
    return notice


def messages_of(response) -> list[str]:
    """The messages an action shows on the page it redirects to (request with follow=True;
    the page renders them, so they do not carry over to the next action)."""
    assert response.redirect_chain, "follow=True expected"
    assert "!!MISSING" not in response.content.decode()
    return [str(m) for m in response.context["messages"]]


def form_data(**overrides) -> dict:
    data = {
        "title": "Incident de connexion",
        "text": "L'extranet est indisponible ce matin.",
        "link": "https://www.asp-public.fr/incident",
        "level": "alert",
        "starts_at": "10/06/2026 14:30",
        "ends_at": "10/06/2026 18:00",
        "affected_motifs": ["habilitation_extranet", "autres"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def agent_client(agent, verified_client):
    return verified_client(agent)


def assert_clean(response):
    assert "!!MISSING" not in response.content.decode()


# --- access ---------------------------------------------------------------------------


NOTICE_URLS = [
    ("get", "backoffice:notices", False),
    ("get", "backoffice:notice_create", False),
    ("post", "backoffice:notice_preview", False),
    ("get", "backoffice:notice_detail", True),
    ("get", "backoffice:notice_edit", True),
    ("post", "backoffice:notice_schedule", True),
    ("post", "backoffice:notice_unschedule", True),
    ("post", "backoffice:notice_publish", True),
    ("post", "backoffice:notice_withdraw", True),
    ("get", "backoffice:notice_resolve", True),
    ("post", "backoffice:notice_resolve", True),
]


@pytest.mark.parametrize(("method", "name", "with_pk"), NOTICE_URLS)
def test_anonymous_is_sent_to_the_login_page(client, agent, method, name, with_pk):
    notice = make_notice(agent)
    url = reverse(name, args=[notice.pk] if with_pk else [])
    response = getattr(client, method)(url, data=form_data() if method == "post" else None)
    assert response.status_code == 302
    assert response.url.startswith(reverse("backoffice:login"))
    notice.refresh_from_db()
    assert notice.state == NoticeState.DRAFT


@pytest.mark.parametrize(("method", "name", "with_pk"), NOTICE_URLS)
def test_a_password_alone_without_second_factor_is_refused(client, agent, method, name, with_pk):
    notice = make_notice(agent)
    client.force_login(agent)  # password checked, no TOTP verified in this session
    url = reverse(name, args=[notice.pk] if with_pk else [])
    response = getattr(client, method)(url, data=form_data() if method == "post" else None)
    assert response.status_code == 302
    assert "/connexion/" in response.url
    notice.refresh_from_db()
    assert notice.state == NoticeState.DRAFT
    assert IncidentNotice.objects.count() == 1


@pytest.mark.parametrize(
    "name", ["notice_schedule", "notice_unschedule", "notice_publish", "notice_withdraw"]
)
def test_actions_are_post_only(agent, agent_client, name):
    notice = make_notice(agent)
    assert agent_client.get(reverse(f"backoffice:{name}", args=[notice.pk])).status_code == 405


def test_actions_need_the_csrf_token(agent):
    from tests.support.auth import otp_login

    notice = make_notice(agent)
    client = otp_login(Client(enforce_csrf_checks=True), agent)
    response = client.post(reverse("backoffice:notice_publish", args=[notice.pk]))
    assert response.status_code == 403
    notice.refresh_from_db()
    assert notice.state == NoticeState.DRAFT


@pytest.mark.parametrize("persona", ["agent", "supervisor", "admin_user"])
def test_agents_supervisors_and_admins_all_manage_notices(request, verified_client, persona):
    user = request.getfixturevalue(persona)
    client = verified_client(user)
    with freeze_time(NOW):
        response = client.post(reverse("backoffice:notice_create"), data=form_data())
        notice = IncidentNotice.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("backoffice:notice_detail", args=[notice.pk])
        assert notice.created_by == user
        response = client.post(reverse("backoffice:notice_publish", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.state == NoticeState.PUBLISHED


def test_the_back_office_nav_links_to_the_notices(agent_client):
    page = agent_client.get(reverse("backoffice:my_tickets")).content.decode()
    assert f'href="{reverse("backoffice:notices")}"' in page
    assert ">Bandeaux</a>" in page


# --- list -----------------------------------------------------------------------------


def test_the_list_shows_each_notice_by_state_with_who_did_what(agent, supervisor, agent_client):
    with freeze_time(NOW):
        draft = make_notice(agent, title="Brouillon A")
        scheduled = make_notice(agent, title="Programmé B", state=NoticeState.SCHEDULED)
        published = make_notice(supervisor, title="Publié C", state=NoticeState.PUBLISHED)
        notice_update(notice=draft, actor=supervisor, title="Brouillon A modifié")
        withdrawn = make_notice(agent, title="Retiré D", state=NoticeState.WITHDRAWN)
        expired = make_notice(agent, title="Expiré E", state=NoticeState.EXPIRED)
        response = agent_client.get(reverse("backoffice:notices"))
    assert response.status_code == 200
    assert_clean(response)
    page = response.content.decode()
    for notice in (draft, scheduled, published, withdrawn, expired):
        assert reverse("backoffice:notice_detail", args=[notice.pk]) in page
    assert "Brouillon A modifié" in page
    assert "Modification — " + str(supervisor) in page
    assert "Expiration — service (automatique)" in page
    assert "Programmée (1)" in page and "Tous (5)" in page

    response = agent_client.get(reverse("backoffice:notices"), {"etat": "scheduled"})
    page = response.content.decode()
    assert "Programmé B" in page
    assert "Publié C" not in page and "Brouillon A" not in page


def _list_queries(client) -> int:
    from backoffice.notices.selectors import notices_live

    cache.clear()
    notices_live()  # the site-wide banner entry, warm in production
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("backoffice:notices"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_costs_the_same_queries_with_5_and_50_notices(agent, supervisor, agent_client):
    for i in range(5):
        make_notice(agent if i % 2 else supervisor, title=f"Bandeau {i}")
    few = _list_queries(agent_client)
    for i in range(45):
        notice = make_notice(agent if i % 2 else supervisor, title=f"Bandeau {i + 5}")
        if i % 3 == 0:
            notice_publish_now(notice=notice, actor=supervisor)
    many = _list_queries(agent_client)
    assert few == many, (few, many)


# --- create, edit, preview --------------------------------------------------------------


def test_creating_a_notice_takes_paris_time_and_records_the_author(agent, agent_client):
    response = agent_client.post(reverse("backoffice:notice_create"), data=form_data())
    notice = IncidentNotice.objects.get()
    assert response.status_code == 302
    assert notice.state == NoticeState.DRAFT
    # 14:30 in Paris in June is 12:30 UTC.
    assert notice.starts_at == datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
    assert notice.ends_at == datetime(2026, 6, 10, 16, 0, tzinfo=UTC)
    assert notice.affected_motifs == ["autres", "habilitation_extranet"]
    assert notice.level == "alert"
    assert list(notice.events.values_list("kind", "actor")) == [("created", agent.pk)]
    # The browser's date-time picker sends ISO values: accepted as well.
    agent_client.post(
        reverse("backoffice:notice_create"),
        data=form_data(starts_at="2026-12-01T09:00", ends_at=""),
    )
    winter = IncidentNotice.objects.latest("id")
    assert winter.starts_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert winter.ends_at is None


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"starts_at": "10/06/2026 18:00", "ends_at": "10/06/2026 17:00"},
            "La fin doit être postérieure au début.",
        ),
        ({"affected_motifs": ["habilitation_extranet", "piratage"]}, "Motif inconnu : piratage."),
        ({"link": "http://www.asp-public.fr/incident"}, "Le lien doit commencer par https://."),
        ({"link": "javascript:alert(1)"}, "Saisissez une adresse web valide"),
        ({"starts_at": "31/02/2026 10:00"}, "Saisissez une date et une heure valides"),
        ({"title": ""}, "Ce champ est obligatoire."),
        ({"level": "rouge"}, "Sélectionnez un choix valide"),
    ],
)
def test_the_form_explains_its_errors_in_french(agent_client, overrides, error):
    response = agent_client.post(reverse("backoffice:notice_create"), data=form_data(**overrides))
    assert response.status_code == 200
    assert_clean(response)
    from html import unescape

    assert error in unescape(response.content.decode())
    assert not IncidentNotice.objects.exists()


def test_the_create_page_renders_the_form(agent_client):
    response = agent_client.get(reverse("backoffice:notice_create"))
    assert response.status_code == 200
    assert_clean(response)
    page = response.content.decode()
    for name in ("title", "text", "link", "level", "starts_at", "ends_at"):
        assert f'name="{name}"' in page
    assert page.count('name="affected_motifs"') == 6
    assert 'type="datetime-local"' in page
    assert f'hx-post="{reverse("backoffice:notice_preview")}"' in page
    # CSP: no inline script or handler on the page.
    assert "onclick" not in page and "<script>" not in page


HOSTILE = '<script>alert("x")</script><b>gras</b>'


def test_the_preview_renders_the_banner_with_text_escaped(agent_client):
    data = form_data(title="<i>Titre</i>", text=HOSTILE + "\nligne 2")
    response = agent_client.post(reverse("backoffice:notice_preview"), data=data)
    assert response.status_code == 200
    assert_clean(response)
    page = response.content.decode()
    assert "<b>gras</b>" not in page and '<script>alert("x")' not in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;gras&lt;/b&gt;<br>ligne 2"
        in page
    )
    assert "&lt;i&gt;Titre&lt;/i&gt;" in page
    assert "fr-notice fr-notice--alert" in page
    assert 'href="https://www.asp-public.fr/incident"' in page
    assert not IncidentNotice.objects.exists()  # a preview writes nothing

    # htmx (the live preview of the form) gets the banner alone.
    response = agent_client.post(
        reverse("backoffice:notice_preview"), data=data, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert "<html" not in page
    assert page.strip().startswith('<div class="fr-notice fr-notice--alert"')
    assert "&lt;b&gt;gras&lt;/b&gt;" in page


def test_the_preview_is_the_public_banner(agent, agent_client, client):
    """The same markup on the notice page's preview and on the public home page."""
    notice = make_notice(agent, text=HOSTILE, start=timezone.now() - timedelta(minutes=1))
    notice_publish_now(notice=notice, actor=agent)
    detail = agent_client.get(reverse("backoffice:notice_detail", args=[notice.pk]))
    assert_clean(detail)
    public = client.get("/").content.decode()
    banner = render_to_string(
        "includes/notices.html",
        {
            "live_notices": [
                {"title": notice.title, "text": HOSTILE, "level": "warning", "link": None}
            ]
        },
    )
    assert "&lt;script&gt;" in banner and "<script>alert" not in banner
    assert banner in public
    assert banner in detail.content.decode()


def test_an_invalid_link_is_left_out_of_the_preview(agent_client):
    response = agent_client.post(
        reverse("backoffice:notice_preview"),
        data=form_data(link="javascript:alert(1)"),
        headers={"HX-Request": "true"},
    )
    assert "javascript:" not in response.content.decode()
    assert "fr-notice__link" not in response.content.decode()


@pytest.mark.parametrize("state", [NoticeState.DRAFT, NoticeState.SCHEDULED, NoticeState.PUBLISHED])
def test_editable_notices_are_edited_through_the_form(agent, supervisor, verified_client, state):
    notice = make_notice(agent, state=state)
    client = verified_client(supervisor)
    url = reverse("backoffice:notice_edit", args=[notice.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert_clean(response)
    assert 'value="Incident extranet"' in response.content.decode()
    response = client.post(url, data=form_data(title="Titre corrigé"))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "Titre corrigé"
    assert notice.state == state
    event = notice.events.latest("id")
    assert (event.kind, event.actor) == ("updated", supervisor)
    assert event.data["title"] == {"before": "Incident extranet", "after": "Titre corrigé"}


@pytest.mark.parametrize("state", [NoticeState.EXPIRED, NoticeState.WITHDRAWN])
def test_ended_notices_cannot_be_edited(agent, agent_client, state):
    notice = make_notice(agent, state=state)
    url = reverse("backoffice:notice_edit", args=[notice.pk])
    response = agent_client.get(url, follow=True)
    assert response.redirect_chain == [(reverse("backoffice:notice_detail", args=[notice.pk]), 302)]
    assert messages_of(response) == ["Un bandeau expiré ou retiré ne peut plus être modifié."]
    response = agent_client.post(url, data=form_data(title="Trop tard"))
    notice.refresh_from_db()
    assert notice.title == "Incident extranet"
    detail = agent_client.get(reverse("backoffice:notice_detail", args=[notice.pk]))
    assert_clean(detail)
    assert url not in detail.content.decode()


def test_an_unknown_notice_is_404(agent_client):
    assert agent_client.get(reverse("backoffice:notice_detail", args=[999])).status_code == 404
    assert agent_client.post(reverse("backoffice:notice_publish", args=[999])).status_code == 404


# --- state actions ----------------------------------------------------------------------


def test_the_detail_page_offers_the_actions_of_each_state(agent, agent_client):
    expected = {
        NoticeState.DRAFT: {"notice_schedule", "notice_publish", "notice_edit"},
        NoticeState.SCHEDULED: {
            "notice_unschedule",
            "notice_publish",
            "notice_withdraw",
            "notice_edit",
        },
        NoticeState.PUBLISHED: {"notice_withdraw", "notice_edit"},
        NoticeState.EXPIRED: set(),
        NoticeState.WITHDRAWN: set(),
    }
    every = {
        "notice_schedule",
        "notice_unschedule",
        "notice_publish",
        "notice_withdraw",
        "notice_edit",
    }
    for state, actions in expected.items():
        notice = make_notice(agent, state=state, start=timezone.now() + timedelta(hours=1))
        response = agent_client.get(reverse("backoffice:notice_detail", args=[notice.pk]))
        assert response.status_code == 200
        assert_clean(response)
        page = response.content.decode()
        for name in every:
            url = reverse(f"backoffice:{name}", args=[notice.pk])
            assert (url in page) == (name in actions), (state, name)


def test_schedule_unschedule_publish_and_withdraw_from_the_pages(agent, supervisor, agent_client):
    with freeze_time(NOW):
        notice = make_notice(agent)
        url = reverse("backoffice:notice_schedule", args=[notice.pk])
        response = agent_client.post(
            url,
            data={"starts_at": "10/06/2026 11:00", "ends_at": "10/06/2026 12:15"},
            follow=True,
        )
        assert messages_of(response) == [
            "Bandeau programmé : il sera publié à son début et retiré à sa fin."
        ]
        notice.refresh_from_db()
        assert notice.state == NoticeState.SCHEDULED
        assert notice.starts_at == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
        assert notice.ends_at == datetime(2026, 6, 10, 10, 15, tzinfo=UTC)

        agent_client.post(reverse("backoffice:notice_unschedule", args=[notice.pk]))
        notice.refresh_from_db()
        assert notice.state == NoticeState.DRAFT

        agent_client.post(reverse("backoffice:notice_publish", args=[notice.pk]))
        notice.refresh_from_db()
        assert notice.state == NoticeState.PUBLISHED
        assert notice.starts_at == NOW  # published now: the start moves to now

        verified_supervisor = agent_client  # the same pages for everyone
        verified_supervisor.post(reverse("backoffice:notice_withdraw", args=[notice.pk]))
        notice.refresh_from_db()
        assert notice.state == NoticeState.WITHDRAWN
        assert notice.ended_at == NOW
    kinds = list(notice.events.values_list("kind", flat=True))
    assert kinds == ["created", "updated", "scheduled", "unscheduled", "published", "withdrawn"]
    assert set(notice.events.values_list("actor", flat=True)) == {agent.pk}


def test_refusals_come_back_as_french_messages(agent, agent_client):
    with freeze_time(NOW):
        draft = make_notice(agent)
        response = agent_client.post(
            reverse("backoffice:notice_withdraw", args=[draft.pk]), follow=True
        )
        assert messages_of(response) == [
            "Impossible de passer un bandeau de « Brouillon » à « Retirée »."
        ]
        response = agent_client.post(
            reverse("backoffice:notice_schedule", args=[draft.pk]),
            data={"starts_at": "10/06/2026 07:00", "ends_at": "10/06/2026 09:00"},
            follow=True,
        )
        assert messages_of(response) == ["La fin de ce bandeau est déjà passée."]
        draft.refresh_from_db()
        assert draft.state == NoticeState.DRAFT
        # The window was not changed either: schedule is all or nothing.
        assert draft.starts_at == NOW + timedelta(hours=1)
        response = agent_client.post(
            reverse("backoffice:notice_schedule", args=[draft.pk]),
            data={"starts_at": "10/06/2026 15:00", "ends_at": "10/06/2026 14:00"},
            follow=True,
        )
        assert messages_of(response) == [
            "Programmation impossible : La fin doit être postérieure au début."
        ]
        response = agent_client.post(
            reverse("backoffice:notice_unschedule", args=[draft.pk]), follow=True
        )
        assert messages_of(response) == [
            "Impossible de passer un bandeau de « Brouillon » à « Brouillon »."
        ]
        page = agent_client.get(
            reverse("backoffice:notice_detail", args=[draft.pk])
        ).content.decode()
        assert "Incident extranet" in page
    assert NoticeEvent.objects.filter(notice=draft).count() == 1
