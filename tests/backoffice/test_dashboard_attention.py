"""What needs a supervisor's attention (issue 13): the landing page by role, the headline
figures of the dashboard (checked by hand), their links, the queues with open tickets and no
agent (dashboard and navigation), the grouped menu, and query counts that grow neither with
the tickets nor with the queues."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from accounts.extranet.models import AccountReassignment, ReassignmentState
from backoffice.dashboard import queues_without_agents
from backoffice.views.dashboard import age_fr
from tests.factories import ExtranetAccountFactory, TicketFactory, UserFactory
from tickets.business_hours import PARIS
from tickets.models import Motif, Queue, Status, Ticket

pytestmark = pytest.mark.django_db

URL = "/backoffice/tableau-de-bord/"
# A Tuesday, 10:00 in Paris (08:00 UTC).
NOW = datetime(2026, 6, 30, 10, 0, tzinfo=PARIS)


def tile(page: str, key: str) -> str:
    """The value shown by the headline tile ``key``."""
    found = re.search(rf'data-testid="tile-{key}-value">([^<]*)<', page)
    assert found, key
    return html.unescape(found.group(1))


def tile_block(page: str, key: str) -> str:
    found = re.search(rf'data-testid="tile-{key}">(.*?)</li>', page, re.S)
    assert found, key
    return found.group(1)


def text_of(page: str) -> str:
    """The visible text of the page's main content (no tags, no attributes)."""
    main = page.split('<main id="content"', 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


# --- the landing page ----------------------------------------------------------------


def test_supervisors_and_admins_land_on_the_dashboard(supervisor, admin_user, verified_client):
    for user in (supervisor, admin_user):
        response = verified_client(user).get(reverse("backoffice:home"))
        assert response.status_code == 302
        assert response["Location"] == URL
        page = verified_client(user).get(response["Location"])
        assert page.status_code == 200 and "<h1" in page.content.decode()


def test_agents_keep_landing_on_their_work(agent, verified_client):
    # One queue: that queue's page.
    response = verified_client(agent).get(reverse("backoffice:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:queue", args=["habilitation"])
    # Several queues: "Mes tickets".
    two = UserFactory(queues=list(Queue.objects.filter(slug__in=["habilitation", "general"])))
    response = verified_client(two).get(reverse("backoffice:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:my_tickets")


def test_an_agent_cannot_see_the_dashboard(agent, verified_client):
    client = verified_client(agent)
    response = client.get(URL)
    assert response.status_code == 403
    assert "Tableau de bord" not in client.get(reverse("backoffice:my_tickets")).content.decode()


# --- headline figures -------------------------------------------------------------------


@pytest.fixture
def attention_fixture(db):
    hab = Queue.objects.get(slug="habilitation")
    gen = Queue.objects.get(slug="general")
    alice = UserFactory(first_name="Alice", last_name="Agent", queues=[hab])
    with freeze_time(NOW):
        # The oldest open ticket: 12 days old, in Demandes générales, late (resolution).
        oldest = TicketFactory(
            queue=gen,
            motif=Motif.AUTRES,
            status=Status.EN_ATTENTE,
            created_at=NOW - timedelta(days=12),
            first_response_at=NOW - timedelta(days=11),
            sla_first_response_due=NOW - timedelta(days=11, hours=-1),
            sla_resolution_due=NOW - timedelta(days=2),
        )
        # Late on its first response (none yet, due an hour ago), assigned.
        TicketFactory(
            queue=hab,
            status=Status.EN_COURS,
            assignee=alice,
            created_at=NOW - timedelta(days=1),
            sla_first_response_due=NOW - timedelta(hours=1),
            sla_resolution_due=NOW + timedelta(days=1),
        )
        # Answered in time, resolution still ahead: not late.
        TicketFactory(
            queue=hab,
            status=Status.EN_COURS,
            created_at=NOW - timedelta(days=3),
            first_response_at=NOW - timedelta(days=3, hours=-1),
            sla_first_response_due=NOW - timedelta(days=2),
            sla_resolution_due=NOW + timedelta(hours=5),
        )
        # Arrived today (after midnight in Paris), unassigned, on time.
        TicketFactory(
            queue=hab,
            created_at=datetime(2026, 6, 30, 0, 30, tzinfo=PARIS),
            sla_first_response_due=NOW + timedelta(hours=6),
            sla_resolution_due=NOW + timedelta(days=2),
        )
        # Arrived yesterday at 23:30 Paris (21:30 UTC): not today's.
        TicketFactory(
            queue=hab,
            created_at=datetime(2026, 6, 29, 23, 30, tzinfo=PARIS),
            sla_first_response_due=NOW + timedelta(hours=6),
        )
        # Resolved today (arrived last week), and resolved yesterday: only one counts. A
        # resolved ticket past its due dates is not a breach: it is no longer open.
        for resolved_at in (NOW - timedelta(hours=2), NOW - timedelta(days=1)):
            TicketFactory(
                queue=hab,
                status=Status.RESOLU,
                assignee=alice,
                created_at=NOW - timedelta(days=7),
                first_response_at=NOW - timedelta(days=6),
                resolved_at=resolved_at,
                sla_first_response_due=NOW - timedelta(days=7, hours=-1),
                sla_resolution_due=NOW - timedelta(days=5),
            )
    # Two reassignments await approval, one is approved.
    ticket = Ticket.objects.filter(queue=hab).first()
    for state in (
        ReassignmentState.PREPARED,
        ReassignmentState.PREPARED,
        ReassignmentState.APPROVED,
    ):
        AccountReassignment.objects.create(
            ticket=ticket,
            account=ExtranetAccountFactory(),
            state=state,
            new_holder_last_name="Martin",
            new_holder_first_name="Léa",
            new_holder_email="lea@exemple.fr",
            new_holder_phone="0102030405",
            evidence_notes="Kbis",
            previous_holder_email="old@exemple.fr",
            previous_holder_name="Ancien",
            prepared_by=alice,
            prepared_at=NOW,
        )
    return {"hab": hab, "gen": gen, "oldest": oldest, "alice": alice}


@freeze_time(NOW)
def test_headline_figures_checked_by_hand(attention_fixture, supervisor, verified_client):
    response = verified_client(supervisor).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    # Open: 1 in general + 4 in habilitation; 4 of them unassigned (all but Alice's).
    assert tile(page, "open") == "5"
    assert "dont 4 non assignés" in tile_block(page, "open")
    oldest = attention_fixture["oldest"]
    assert tile(page, "oldest") == "12\u00a0jours"
    oldest_block = tile_block(page, "oldest")
    assert oldest.reference in oldest_block and "reçu le 18/06/2026" in oldest_block
    assert f'href="{reverse("backoffice:ticket_detail", args=[oldest.pk])}"' in oldest_block
    # Late: the oldest (resolution due 2 days ago) and the unanswered one (first response
    # due an hour ago); not the resolved ones, not the one answered in time.
    assert tile(page, "late") == "2"
    assert "bo-tile--warning" in page.split('data-testid="tile-late"')[0].rsplit("<div", 1)[1]
    assert tile(page, "arrivals") == "1"
    assert tile(page, "resolved") == "1"
    assert tile(page, "approvals") == "2"
    assert f'href="{reverse("backoffice:reassignment_list")}"' in tile_block(page, "approvals")
    # Across all queues, the open and late figures point at the per-queue table, whose
    # cells link to each queue's filtered list.
    assert 'href="#dash-queues"' in tile_block(page, "late")
    hab_url = reverse("backoffice:queue", args=["habilitation"])
    gen_url = reverse("backoffice:queue", args=["general"])
    assert f'href="{hab_url}?sla=late">1</a>' in page
    assert f'href="{gen_url}?sla=late">1</a>' in page
    assert f'href="{hab_url}?assignee=none">3</a>' in page
    # The headline comes first, then the per-queue table, then the period's tabs.
    assert page.index('data-testid="dashboard-tiles"') < page.index('id="dash-queues"')
    assert page.index('id="dash-queues"') < page.index('class="fr-tabs"')


@freeze_time(NOW)
def test_headline_figures_of_one_queue_link_to_its_filtered_list(
    attention_fixture, supervisor, verified_client
):
    hab = attention_fixture["hab"]
    page = verified_client(supervisor).get(URL, {"queue": hab.pk}).content.decode()
    assert tile(page, "open") == "4"
    assert tile(page, "late") == "1"
    assert tile(page, "oldest") == "3\u00a0jours"
    assert tile(page, "arrivals") == "1"
    url = reverse("backoffice:queue", args=["habilitation"])
    assert f'href="{url}?sla=late"' in tile_block(page, "late")
    assert f'href="{url}"' in tile_block(page, "open")


@freeze_time(NOW)
def test_the_filtered_list_behind_the_late_figure_holds_the_same_tickets(
    attention_fixture, supervisor, verified_client
):
    """The "Hors délai" cell and the queue page's "En retard" filter agree."""
    client = verified_client(supervisor)
    url = reverse("backoffice:queue", args=["habilitation"])
    listed = client.get(url, {"sla": "late"}).content.decode()
    late = Ticket.objects.get(queue__slug="habilitation", first_response_at__isnull=True,
                              status=Status.EN_COURS)  # fmt: skip
    assert late.reference in listed
    assert attention_fixture["oldest"].reference not in listed  # another queue


def test_age_is_french_in_its_largest_unit():
    assert age_fr(59) == "0\u00a0min"
    assert age_fr(45 * 60) == "45\u00a0min"
    assert age_fr(5 * 3600 + 59 * 60) == "5\u00a0h"
    assert age_fr(36 * 3600) == "1\u00a0jour"
    assert age_fr(12 * 86400 + 3600) == "12\u00a0jours"


@freeze_time(NOW)
def test_the_dashboard_speaks_french(attention_fixture, supervisor, verified_client):
    page = verified_client(supervisor).get(URL).content.decode()
    text = text_of(page)
    # Internal values ("en_cours", "habilitation_extranet"…) and queue slugs; a value that
    # is also a French word ("nouveau") is checked through its label instead.
    for internal in (
        *[value for value in (*Status.values, *Motif.values) if "_" in value],
        "habilitation",
        "general",
        "None",
        "True",
        "False",
    ):
        assert not re.search(rf"(?<![\wÀ-ÿ]){re.escape(internal)}(?![\wÀ-ÿ])", text), internal
    for label in ("Tickets ouverts", "Plus ancien ticket ouvert", "Hors délai",
                  "Reçus aujourd'hui", "Résolus aujourd'hui", "Réattributions à approuver",
                  "Nouveau", "En cours"):  # fmt: skip
        assert label in text, label


# --- queues with open tickets and no agent ----------------------------------------------


def test_queues_without_agents_are_those_with_open_tickets_and_no_active_member(db):
    hab = Queue.objects.get(slug="habilitation")
    gen = Queue.objects.get(slug="general")
    ind = Queue.objects.get(slug="indemnisation")
    cert = Queue.objects.get(slug="certificats")
    etab = Queue.objects.get(slug="etablissement")
    UserFactory(queues=[hab])  # hab: an active agent
    UserFactory(queues=[gen], is_active=False)  # gen: only a deactivated one
    for queue in (hab, gen, ind):
        TicketFactory(queue=queue, status=Status.EN_COURS)
    TicketFactory(queue=cert, status=Status.CLOS)  # cert: no member, nothing open
    del etab  # etab: no member, no ticket at all
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        found = queues_without_agents()
    assert len(ctx.captured_queries) == 1
    assert [q.slug for q in found] == ["general", "indemnisation"]  # by name
    # Cached: the navigation asks on every page.
    with CaptureQueriesContext(connection) as ctx:
        assert queues_without_agents() == found
    assert len(ctx.captured_queries) == 0
    # An agent joins: once the cache expires, the queue is no longer listed.
    UserFactory(queues=[ind])
    cache.clear()
    assert [q.slug for q in queues_without_agents()] == ["general"]


def test_navigation_and_dashboard_show_the_queues_without_agents(
    agent, supervisor, verified_client
):
    ind = Queue.objects.get(slug="indemnisation")
    TicketFactory(queue=ind, motif=Motif.DEMANDE_INDEMNISATION, status=Status.NOUVEAU)
    TicketFactory(queue=Queue.objects.get(slug="habilitation"))  # has the agent
    cache.clear()
    page = verified_client(supervisor).get(URL).content.decode()
    badge = re.search(r'data-testid="nav-queues-without-agents">(\d+)<', page)
    assert badge and badge.group(1) == "1"
    routing = reverse("backoffice:routing")
    assert f'href="{routing}#routing-queues"' in page
    assert "1 file sans agent" in page
    alert = re.search(r'data-testid="queues-without-agents">(.*?)</div>', page, re.S).group(1)
    assert "1 file avec des tickets ouverts et aucun agent" in alert
    members_url = reverse("backoffice:routing_queue_members", args=["indemnisation"])
    assert f'href="{members_url}"' in alert and ind.name in alert
    # The per-queue table flags it too.
    assert f'href="{members_url}">Aucun agent</a>' in page
    # The section the link points at exists on the routing page.
    assert 'id="routing-queues"' in verified_client(supervisor).get(routing).content.decode()
    # Agents see neither.
    agent_page = verified_client(agent).get(reverse("backoffice:my_tickets")).content.decode()
    assert "nav-queues-without-agents" not in agent_page
    assert "sans agent" not in agent_page


def test_no_badge_when_every_queue_with_open_tickets_has_an_agent(
    agent, supervisor, verified_client
):
    TicketFactory()  # habilitation, where the agent is
    cache.clear()
    page = verified_client(supervisor).get(URL).content.decode()
    assert "nav-queues-without-agents" not in page
    assert 'data-testid="queues-without-agents"' not in page


# --- the menu -----------------------------------------------------------------------------


def _nav(page: str) -> str:
    return page.split('id="backoffice-nav"', 1)[1].split("</nav>", 1)[0]


def test_supervisor_menu_groups_queues_and_supervisor_pages(supervisor, verified_client):
    nav = _nav(verified_client(supervisor).get(URL).content.decode())
    top_level = re.findall(r'<li class="fr-nav__item">', nav)
    # Mes tickets, Non assignés, Files, Réattributions, Pilotage.
    assert len(top_level) == 5
    files = nav.split('aria-controls="nav-menu-queues"', 1)[1].split("</li>\n      <li", 1)[0]
    for queue in Queue.objects.all():
        assert reverse("backoffice:queue", args=[queue.slug]) in files
    pilotage = nav.split('aria-controls="nav-menu-pilotage"', 1)[1]
    assert 'aria-current="true"' in nav.split('aria-controls="nav-menu-pilotage"', 1)[1][:40]
    for name in ("dashboard", "routing", "notices"):
        assert f'href="{reverse("backoffice:" + name)}' in pilotage
    assert f'href="{URL}" aria-current="page">Tableau de bord</a>' in pilotage
    assert 'data-testid="nav-reassignments-awaiting"' in nav


def test_agent_menu_keeps_few_queues_inline_and_no_supervisor_pages(agent, verified_client):
    nav = _nav(verified_client(agent).get(reverse("backoffice:my_tickets")).content.decode())
    assert "nav-menu-queues" not in nav and "nav-menu-pilotage" not in nav
    assert reverse("backoffice:queue", args=["habilitation"]) in nav
    assert ">Bandeaux</a>" in nav
    assert URL not in nav and reverse("backoffice:routing") not in nav
    # An agent of many queues gets the "Files" dropdown too.
    many = UserFactory(queues=list(Queue.objects.all()))
    nav = _nav(verified_client(many).get(reverse("backoffice:my_tickets")).content.decode())
    assert "nav-menu-queues" in nav and "nav-menu-pilotage" not in nav


# --- query counts ---------------------------------------------------------------------------


def _count(client, url: str, *, warm: bool) -> int:
    from backoffice.notices.selectors import notices_live

    cache.clear()
    notices_live()
    if warm:
        client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_grows_neither_with_tickets_nor_with_queues(supervisor, verified_client):
    client = verified_client(supervisor)
    hab = Queue.objects.get(slug="habilitation")
    for i in range(5):
        TicketFactory(queue=hab, status=Status.EN_COURS, created_at=NOW - timedelta(days=i))
    small = {warm: _count(client, URL, warm=warm) for warm in (False, True)}
    for n in range(4):
        queue = Queue.objects.create(slug=f"file-{n}", name=f"File {n}")
        for i in range(10):
            TicketFactory(queue=queue, status=Status.NOUVEAU, created_at=NOW - timedelta(hours=i))
            TicketFactory(queue=queue, status=Status.RESOLU, resolved_at=NOW,
                          created_at=NOW - timedelta(days=i))  # fmt: skip
    large = {warm: _count(client, URL, warm=warm) for warm in (False, True)}
    assert small == large
    # The warm page reads the cached figures: only the session, the user, the navigation
    # and the reassignment figures reach the database.
    assert large[True] < large[False]
    assert large[True] <= 14, large
