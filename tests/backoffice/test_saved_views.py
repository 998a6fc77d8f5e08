"""Saved views of the ticket lists (issue 13): save the filters and sort of a list under a
name, open it from the "Mes vues" menu, rename, delete, share with a queue; who sees what;
counts capped; the cost of the page; the filters as checkboxes; the columns an agent
hides."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.savedviews.models import SavedView
from tests.factories import TicketFactory, UserFactory
from tickets import selectors
from tickets.models import Motif, Priority, Queue, Status

pytestmark = pytest.mark.django_db

QUEUE_URL = "/backoffice/files/habilitation/"
MENU_URL = "/backoffice/vues/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def refs(response) -> list[str]:
    return re.findall(r">(AP-\d{4}-\d{6})</a>", response.content.decode())


def view_url(view) -> str:
    return reverse("backoffice:saved_view", args=[view.pk])


def make_view(owner, *, name="Mes urgences", queue="habilitation", params=None, shared=None):
    return SavedView.objects.create(
        owner=owner,
        name=name,
        scope="queue" if queue else "mine",
        queue=Queue.objects.get(slug=queue) if queue else None,
        params=params
        if params is not None
        else {"status": ["en_cours"], "motif": ["habilitation_extranet"], "sort": ["-priority"]},
        shared_with=Queue.objects.get(slug=shared) if shared else None,
    )


@pytest.fixture
def tickets():
    now = timezone.now()
    return {
        "urgent": TicketFactory(
            reference="AP-2026-000001",
            status=Status.EN_COURS,
            priority=Priority.URGENT,
            created_at=now - timedelta(hours=3),
        ),
        "normal": TicketFactory(
            reference="AP-2026-000002",
            status=Status.EN_COURS,
            priority=Priority.LOW,
            created_at=now - timedelta(hours=2),
        ),
        "new": TicketFactory(
            reference="AP-2026-000003", status=Status.NOUVEAU, created_at=now - timedelta(hours=1)
        ),
        "other_motif": TicketFactory(
            reference="AP-2026-000004",
            status=Status.EN_COURS,
            motif=Motif.AUTRES,
            created_at=now - timedelta(minutes=30),
        ),
    }


# --- Create, open, rename, delete ------------------------------------------------------------


def test_save_the_current_filters_and_open_the_view(agent, verified_client, tickets):
    client = verified_client(agent)
    query = "status=en_cours&motif=habilitation_extranet&sort=-priority&after=xyz"
    page = client.get(QUEUE_URL + "?" + query)
    assert page.status_code == 200
    # The form carries the list's filters and sort, never its page cursor.
    assert (
        'name="query" value="status=en_cours&amp;motif=habilitation_extranet&amp;sort=-priority"'
        in page.content.decode()
    )
    response = client.post(
        reverse("backoffice:saved_view_create"),
        {"name": "  En cours   habilitation ", "scope": "queue", "queue": "habilitation",
         "query": query},
    )  # fmt: skip
    view = SavedView.objects.get(owner=agent)
    assert response.status_code == 302 and response["Location"] == view_url(view)
    assert view.name == "En cours habilitation"
    assert view.params == {
        "motif": ["habilitation_extranet"],
        "sort": ["-priority"],
        "status": ["en_cours"],
    }
    opened = client.get(view_url(view))
    assert opened.status_code == 200
    html = opened.content.decode()
    assert "Vue « En cours habilitation » enregistrée." in html
    # The view's filters apply: open "en cours" Habilitation tickets, highest priority first.
    assert refs(opened) == [tickets["urgent"].reference, tickets["normal"].reference]
    assert 'aria-sort="descending"' in html
    assert "Vue enregistrée de la file Habilitation" in html
    # The boxes of its filters are ticked.
    assert re.search(r'value="en_cours" checked', html)
    # Changing a filter on the view's page keeps the view's URL and applies the new ones.
    changed = client.get(view_url(view) + "?status=nouveau")
    assert refs(changed) == [tickets["new"].reference]


def test_a_view_of_mes_tickets(agent, verified_client):
    mine = TicketFactory(assignee=agent, status=Status.EN_ATTENTE)
    TicketFactory(assignee=agent, status=Status.NOUVEAU)
    client = verified_client(agent)
    response = client.post(
        reverse("backoffice:saved_view_create"),
        {"name": "En attente", "scope": "mine", "query": "status=en_attente"},
    )
    view = SavedView.objects.get(owner=agent)
    assert response.status_code == 302 and view.queue is None and view.scope == "mine"
    assert refs(client.get(view_url(view))) == [mine.reference]


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Donnez un nom à cette vue."),
        ("   ", "Donnez un nom à cette vue."),
        ("x" * 61, "Le nom d&#x27;une vue tient en 60 caractères au plus"),
        ("mes URGENCES", "Vous avez déjà une vue nommée « mes URGENCES »"),
    ],
)
def test_names_are_checked_and_nothing_typed_is_lost(agent, verified_client, name, message):
    make_view(agent, name="Mes urgences")
    response = verified_client(agent).post(
        reverse("backoffice:saved_view_create"),
        {"name": name, "scope": "queue", "queue": "habilitation", "query": "status=nouveau"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "fr-input-group--error" in html
    if name.strip():
        assert f'value="{name}"' in html
    # The list is the one being saved (its filters still ticked), and nothing was saved.
    assert re.search(r'value="nouveau" checked', html)
    assert SavedView.objects.filter(owner=agent).count() == 1


def test_the_same_name_is_free_for_another_agent(agent, verified_client, habilitation_queue):
    colleague = UserFactory(queues=[habilitation_queue])
    make_view(colleague, name="Mes urgences")
    response = verified_client(agent).post(
        reverse("backoffice:saved_view_create"),
        {"name": "Mes urgences", "scope": "queue", "queue": "habilitation", "query": ""},
    )
    assert response.status_code == 302
    assert SavedView.objects.filter(name="Mes urgences").count() == 2


def test_a_view_of_a_queue_one_does_not_work_on_cannot_be_saved(other_agent, verified_client):
    response = verified_client(other_agent).post(
        reverse("backoffice:saved_view_create"),
        {"name": "Espion", "scope": "queue", "queue": "habilitation", "query": ""},
    )
    assert response.status_code == 404
    assert not SavedView.objects.exists()


def test_rename_and_delete(agent, verified_client):
    view = make_view(agent)
    make_view(agent, name="Autre")
    client = verified_client(agent)
    refused = client.post(
        reverse("backoffice:saved_view_rename", args=[view.pk]), {"name": "autre"}
    )
    assert refused.status_code == 200
    assert "Vous avez déjà une vue nommée « autre »" in refused.content.decode()
    assert 'value="autre"' in refused.content.decode()
    view.refresh_from_db()
    assert view.name == "Mes urgences"
    done = client.post(reverse("backoffice:saved_view_rename", args=[view.pk]), {"name": "Prio"})
    assert done.status_code == 302
    view.refresh_from_db()
    assert view.name == "Prio"
    assert "Vue renommée « Prio »." in client.get(done["Location"]).content.decode()
    gone = client.post(reverse("backoffice:saved_view_delete", args=[view.pk]))
    assert gone.status_code == 302 and gone["Location"] == QUEUE_URL
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert client.get(view_url(view)).status_code == 404


# --- Who sees what ---------------------------------------------------------------------------


def test_another_agents_view_is_invisible_and_404(agent, verified_client, habilitation_queue):
    colleague = UserFactory(queues=[habilitation_queue])
    view = make_view(colleague, name="Vue de la collègue")
    client = verified_client(agent)
    for response in (client.get(MENU_URL), client.get(MENU_URL, **HTMX)):
        assert response.status_code == 200
        assert "Vue de la collègue" not in response.content.decode()
    assert client.get(view_url(view)).status_code == 404
    for name in ("saved_view_rename", "saved_view_delete", "saved_view_share"):
        assert (
            client.post(reverse(f"backoffice:{name}", args=[view.pk]), {"name": "x"}).status_code
            == 404
        )
    view.refresh_from_db()
    assert view.name == "Vue de la collègue"


def test_a_supervisor_shares_a_view_with_a_queue(
    agent, other_agent, supervisor, verified_client, tickets
):
    view = make_view(supervisor, name="Habilitation en cours")
    boss = verified_client(supervisor)
    page = boss.get(view_url(view)).content.decode()
    assert "Partager avec une file" in page
    response = boss.post(
        reverse("backoffice:saved_view_share", args=[view.pk]), {"queue": "habilitation"}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert view.shared_with.slug == "habilitation"
    # A member of the queue sees it in the menu and opens it, read-only.
    member = verified_client(agent)
    menu = member.get(MENU_URL, **HTMX).content.decode()
    assert "Habilitation en cours" in menu and "(partagée)" in menu
    opened = member.get(view_url(view))
    assert opened.status_code == 200
    html = opened.content.decode()
    assert "lecture seule" in html and "Renommer la vue" not in html
    assert refs(opened) == [tickets["urgent"].reference, tickets["normal"].reference]
    assert (
        member.post(
            reverse("backoffice:saved_view_rename", args=[view.pk]), {"name": "À moi"}
        ).status_code
        == 403
    )
    assert member.post(reverse("backoffice:saved_view_delete", args=[view.pk])).status_code == 403
    assert SavedView.objects.get(pk=view.pk).name == "Habilitation en cours"
    # An agent of another queue: nothing.
    outsider = verified_client(other_agent)
    assert "Habilitation en cours" not in outsider.get(MENU_URL, **HTMX).content.decode()
    assert outsider.get(view_url(view)).status_code == 404
    # Stop sharing: the member loses it.
    boss.post(reverse("backoffice:saved_view_share", args=[view.pk]), {"queue": ""})
    assert member.get(view_url(view)).status_code == 404


def test_a_view_shared_with_a_queue_of_mine_but_of_another_queue_stays_hidden(
    agent, supervisor, verified_client
):
    # "Mes tickets" views can be shared with any queue; a queue's view only with that queue.
    view = make_view(supervisor, queue="general", name="Général")
    response = verified_client(supervisor).post(
        reverse("backoffice:saved_view_share", args=[view.pk]), {"queue": "habilitation"}
    )
    assert response.status_code == 403
    view.refresh_from_db()
    assert view.shared_with is None
    # Even forced in the database, a member of Habilitation does not see General's tickets.
    view.shared_with = Queue.objects.get(slug="habilitation")
    view.save()
    client = verified_client(agent)
    assert client.get(view_url(view)).status_code == 404
    assert "Général" not in client.get(MENU_URL, **HTMX).content.decode()


def test_an_agent_cannot_share(agent, verified_client):
    view = make_view(agent)
    client = verified_client(agent)
    assert "Partager avec une file" not in client.get(view_url(view)).content.decode()
    response = client.post(
        reverse("backoffice:saved_view_share", args=[view.pk]), {"queue": "habilitation"}
    )
    assert response.status_code == 403
    view.refresh_from_db()
    assert view.shared_with is None


# --- The menu and its counts -----------------------------------------------------------------


def test_the_menu_lists_views_with_capped_counts(agent, verified_client, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    for _ in range(7):
        TicketFactory(status=Status.EN_COURS)
    TicketFactory(status=Status.NOUVEAU)
    make_view(agent, name="En cours", params={"status": ["en_cours"]})
    make_view(agent, name="Nouveaux", params={"status": ["nouveau"]})
    client = verified_client(agent)
    page = client.get(QUEUE_URL).content.decode()
    # One menu item, whose content loads when it opens.
    assert page.count('data-testid="nav-saved-views"') == 1
    assert 'hx-get="/backoffice/vues/"' in page
    menu = client.get(MENU_URL, **HTMX)
    assert menu["Vary"] and "HX-Request" in menu["Vary"]
    counts = dict(
        re.findall(
            r">([^<>]+?) <span class=\"fr-badge fr-badge--sm\" data-testid=\"saved-view-count\">"
            r"([^<]+)</span>",
            menu.content.decode(),
        )
    )
    assert counts == {"En cours": "5+", "Nouveaux": "1"}
    # Without JavaScript, the same list as a page.
    full = client.get(MENU_URL).content.decode()
    assert "<h1>Mes vues</h1>" in full and "5+" in full


def test_menu_counts_cost_two_queries_whatever_the_number_of_views(agent, verified_client):
    TicketFactory(status=Status.EN_COURS)
    client = verified_client(agent)
    for i in range(2):
        make_view(agent, name=f"Vue {i}", params={"status": ["en_cours"], "q": ["dupont"]})
    few = _queries(client, MENU_URL, **HTMX)
    for i in range(2, 8):
        make_view(agent, name=f"Vue {i}", params={"motif": ["autres"], "sort": ["-updated_at"]})
    assert _queries(client, MENU_URL, **HTMX) == few


def _queries(client, url, **extra) -> int:
    from backoffice.notices.selectors import notices_live

    cache.clear()
    notices_live()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_the_page_of_a_saved_view_costs_the_queue_page_plus_one_query(agent, verified_client):
    for i in range(10):
        TicketFactory(status=Status.EN_COURS if i % 2 else Status.NOUVEAU, assignee=agent)
    view = make_view(
        agent,
        params={
            "status": ["en_cours", "nouveau"],
            "motif": ["habilitation_extranet"],
            "sort": ["-priority"],
        },
    )
    client = verified_client(agent)
    same_filters = (
        QUEUE_URL + "?status=en_cours&status=nouveau&motif=habilitation_extranet&sort=-priority"
    )
    queue_page = _queries(client, same_filters)
    small = _queries(client, view_url(view))
    # The view itself (with its queue and owner) is the one more query.
    assert small == queue_page + 1
    for _ in range(60):
        TicketFactory(status=Status.EN_COURS)
    assert _queries(client, view_url(view)) == small
    assert small <= 12


# --- Saved values re-validated, filters as checkboxes ---------------------------------------


def test_a_saved_value_removed_since_shows_a_french_error_not_a_500(agent, verified_client):
    TicketFactory(status=Status.NOUVEAU)
    view = make_view(agent, params={"status": ["archive"], "assignee": ["999999"]})
    response = verified_client(agent).get(view_url(view))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Certains filtres ne sont pas valides" in html
    assert "Sélectionnez un choix valide" in html
    # The open tickets, unfiltered.
    assert len(refs(response)) == 1
    # And its count in the menu does not fail either.
    menu = verified_client(agent).get(MENU_URL, **HTMX)
    assert menu.status_code == 200 and "Mes urgences" in menu.content.decode()


def test_status_and_motif_filters_are_checkboxes(agent, verified_client, tickets):
    client = verified_client(agent)
    page = client.get(QUEUE_URL).content.decode()
    assert "<select" in page  # the other filters
    assert "multiple" not in page
    assert re.search(r'<input type="checkbox" name="status" id="id_status-1" value="nouveau"', page)
    assert re.search(r'<input type="checkbox" name="motif" id="id_motif-\d" value="autres"', page)
    both = client.get(QUEUE_URL + "?status=nouveau&status=en_cours&motif=habilitation_extranet")
    assert sorted(refs(both)) == sorted(
        t.reference for key, t in tickets.items() if key != "other_motif"
    )
    bad = client.get(QUEUE_URL + "?status=supprime")
    assert bad.status_code == 200
    assert "Sélectionnez un choix valide" in bad.content.decode()
    assert "fr-fieldset--error" in bad.content.decode()


# --- Columns and dates -----------------------------------------------------------------------


def test_the_agent_hides_columns_for_the_session(agent, verified_client, tickets):
    client = verified_client(agent)
    page = client.get(QUEUE_URL).content.decode()
    head = page.split("<thead>")[1].split("</thead>")[0]
    # "Modifié le" is hidden by default; dates are short ("02/12 14:05").
    assert ">Reçu le" in head and "Modifié le" not in head
    assert re.search(
        r'<time datetime="[^"]+" title="\d\d/\d\d/\d{4} \d\d:\d\d">\d\d/\d\d \d\d:\d\d</time>', page
    )
    response = client.post(
        reverse("backoffice:list_columns"),
        {"columns": ["priority", "updated_at", "created_at"], "keep": ["queue"], "next": QUEUE_URL},
    )
    assert response.status_code == 302 and response["Location"] == QUEUE_URL
    head = client.get(QUEUE_URL).content.decode().split("<thead>")[1].split("</thead>")[0]
    assert "Modifié le" in head and "Priorité" in head
    assert ">SIRET<" not in head and ">Motif<" not in head and ">Demandeur<" not in head
    # Every list of the session.
    head = (
        client.get(reverse("backoffice:my_tickets"))
        .content.decode()
        .split("<thead>")[1]
        .split("</thead>")[0]
    )
    assert ">SIRET<" not in head and "Modifié le" in head
    # Outside links are refused.
    away = client.post(reverse("backoffice:list_columns"), {"next": "https://evil.example/"})
    assert away["Location"] == reverse("backoffice:home")


def test_the_list_carries_the_keyboard_script_and_row_links(agent, verified_client, tickets):
    html = verified_client(agent).get(QUEUE_URL).content.decode()
    assert "/static/js/ticket-list-keys.js" in html
    assert "<table data-keyboard-list" in html
    assert html.count('class="bo-row-link"') == 4  # the open Habilitation tickets


def test_a_forged_query_keeps_only_the_known_filters_bounded(agent, verified_client):
    long_text = "dupont " * 50
    response = verified_client(agent).post(
        reverse("backoffice:saved_view_create"),
        {
            "name": "Forgée",
            "scope": "queue",
            "queue": "habilitation",
            "query": f"status=en_cours&status=&q=a%00b&siret={long_text}&after=abc&evil=1",
        },
    )
    assert response.status_code == 302
    view = SavedView.objects.get(owner=agent)
    assert view.params == {"siret": [long_text[:200]], "status": ["en_cours"]}
    assert verified_client(agent).get(view_url(view)).status_code == 200
