"""The supervisors' dashboard page: permissions, figures checked by hand, filters, SVG
charts with their tables, htmx partial, CSV export, and a query count that does not grow
with the number of tickets."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.extranet.models import AccountReassignment, ReassignmentState
from backoffice.dashboard import _cache_key
from backoffice.views.dashboard import duration_fr, percent_fr
from tests.factories import ExtranetAccountFactory, TicketFactory, UserFactory
from tickets.business_hours import PARIS
from tickets.models import Queue, Status, Ticket

pytestmark = pytest.mark.django_db

URL = "/backoffice/tableau-de-bord/"
EXPORT_URL = "/backoffice/tableau-de-bord/export.csv"
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=PARIS)


def at(day, hour=10):
    return datetime(2026, 6, day, hour, 0, tzinfo=PARIS)


def test_urls_are_named():
    assert reverse("backoffice:dashboard") == URL
    assert reverse("backoffice:dashboard_export") == EXPORT_URL


def test_duration_and_percent_are_french():
    assert duration_fr(None) == "—"
    assert duration_fr(45 * 60) == "45 min"
    assert duration_fr(3 * 3600 + 5 * 60) == "3 h 05 min"
    assert duration_fr(30 * 3600) == "30 h 00 min"
    assert percent_fr(4, 5) == "80,0\u00a0%"
    assert percent_fr(0, 0) == "—"


# --- permissions ---------------------------------------------------------------------


def test_agent_is_refused(agent, verified_client):
    client = verified_client(agent)
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_supervisor_and_admin_see_it(supervisor, admin_user, verified_client):
    for user in (supervisor, admin_user):
        response = verified_client(user).get(URL)
        assert response.status_code == 200
        assert b"Tableau de bord" in response.content
        assert b"!!MISSING" not in response.content


def test_without_second_factor_is_sent_to_the_code_page(supervisor):
    client = Client()
    client.force_login(supervisor)
    response = client.get(URL)
    assert response.status_code == 302
    assert "/connexion/" in response["Location"]
    anonymous = Client().get(EXPORT_URL)
    assert anonymous.status_code == 302 and "/connexion/" in anonymous["Location"]


def test_nav_link_only_for_supervisors(agent, supervisor, verified_client):
    assert URL.encode() in verified_client(supervisor).get(URL).content
    page = verified_client(agent).get(reverse("backoffice:my_tickets")).content
    assert URL.encode() not in page
    assert b"/backoffice/routage/" not in page


# --- figures on a small fixture --------------------------------------------------------


@pytest.fixture
def small_fixture(db):
    hab = Queue.objects.get(slug="habilitation")
    gen = Queue.objects.get(slug="general")
    alice = UserFactory(first_name="Alice", last_name="Agent")
    for day, hours, who in ((1, 1, alice), (2, 3, alice), (3, 5, alice)):
        created = at(day)
        TicketFactory(
            queue=hab,
            status=Status.RESOLU,
            assignee=who,
            created_at=created,
            first_response_at=created + timedelta(hours=hours),
            resolved_at=created + timedelta(hours=2 * hours),
            # First response target met for 1 h and 3 h, missed for 5 h; resolution
            # target (8 h) met for 2 h and 6 h, missed for 10 h.
            sla_first_response_due=created + timedelta(hours=4),
            sla_resolution_due=created + timedelta(hours=8),
        )
    TicketFactory(queue=hab, status=Status.NOUVEAU, created_at=NOW - timedelta(hours=2))
    TicketFactory(
        queue=hab, status=Status.EN_COURS, assignee=alice, created_at=NOW - timedelta(days=2)
    )
    TicketFactory(queue=gen, status=Status.EN_ATTENTE, created_at=NOW - timedelta(days=10))
    # Reassignments: one waiting for approval, one in its objection period, one done.
    account = ExtranetAccountFactory()
    ticket = Ticket.objects.filter(queue=hab).first()
    states = (ReassignmentState.PREPARED, ReassignmentState.APPROVED, ReassignmentState.APPLIED)
    for state in states:
        AccountReassignment.objects.create(
            ticket=ticket,
            account=account if state == ReassignmentState.PREPARED else ExtranetAccountFactory(),
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
    return {"hab": hab, "gen": gen, "alice": alice}


def _cell_rows(page: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, as lists of cell texts."""
    table = re.search(r"<table>\s*<caption>" + re.escape(caption) + r".*?</table>", page, re.S)
    assert table, caption
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


@freeze_time(NOW)
def test_page_shows_hand_checked_figures(small_fixture, supervisor, verified_client):
    response = verified_client(supervisor).get(URL)
    html = response.content.decode()
    assert "!!MISSING" not in html
    # The filter form shows the default period.
    assert 'name="date_from" value="2026-06-01"' in html
    assert 'name="date_to" value="2026-06-30"' in html
    backlog = _cell_rows(html, "Tickets ouverts par file et par statut")
    # Neither queue has an agent: each name carries the "Aucun agent" badge.
    by_queue = {row[0].removesuffix(" Aucun agent"): row[1:] for row in backlog[1:]}
    hab, gen = small_fixture["hab"].name, small_fixture["gen"].name
    # Columns: Nouveau, En cours, En attente, Total, Non assignés, Hors délai, Plus ancien.
    assert by_queue[hab][:6] == ["1", "1", "0", "2", "1", "0"]
    assert by_queue[gen][:6] == ["0", "0", "1", "1", "1", "0"]
    assert by_queue["Total"] == ["1", "1", "1", "3", "2", "0", ""]
    # The oldest open ticket of each queue: its age, linked to the ticket.
    assert re.match(r"2\sjours", by_queue[hab][6]) and re.match(r"10\sjours", by_queue[gen][6])
    ages = dict(r for r in _cell_rows(html, "Tickets ouverts par ancienneté")[1:])
    assert ages == {
        "Moins d'un jour": "1",
        "1 à 3 jours": "1",
        "3 à 7 jours": "0",
        "7 à 30 jours": "1",
        "Plus de 30 jours": "0",
    }
    # Default period: the last 30 days (1 to 30 June): 3 resolved + 3 open.
    intake = _cell_rows(html, "Demandes reçues par jour (6 sur la période)")
    assert len(intake) == 1 + 30 + 1 and intake[-1] == ["Total", "6"]
    assert ["lun 01/06/2026", "1"] in intake
    times = {
        r[0]: r[1:]
        for r in _cell_rows(
            html, "Délais depuis la réception (heures calendaires), tickets de la période"
        )[1:]
    }
    # First responses 1, 3, 5 h: p50 = 3 h, p90 = 5 h. Resolutions 2, 6, 10 h.
    assert times["Première réponse"] == ["3", "3 h 00 min", "5 h 00 min"]
    assert times["Résolution"] == ["3", "6 h 00 min", "10 h 00 min"]
    sla = {r[0]: r[1:] for r in _cell_rows(html, "Délais cibles tenus sur la période")[1:]}
    assert sla["Première réponse"] == ["2", "3", "66,7\u00a0%"]
    assert sla["Résolution"] == ["2", "3", "66,7\u00a0%"]
    agents = _cell_rows(html, "Tickets par agent : ouverts aujourd'hui, résolus sur la période")
    assert agents[1] == ["Alice Agent", "1", "3", "6 h 00 min"]
    # Reassignments: 1 waiting for approval, 1 in its objection period, with the link.
    assert '<strong class="fr-h3">1</strong> réattribution en attente' in html
    assert "1 approuvée en attente de la fin du délai d'opposition" in html
    # Each risk signal counted over the changes awaiting approval, with its explanation.
    signals = _cell_rows(html, "Signaux de risque des réattributions en attente")
    assert len(signals) == 1 + 7
    assert all(row[-1].isdigit() for row in signals[1:])
    assert reverse("backoffice:reassignment_list") in html


@freeze_time(NOW)
def test_charts_are_inline_svg_with_data_tables(small_fixture, supervisor, verified_client):
    response = verified_client(supervisor).get(URL)
    html = response.content.decode()
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 3
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg
        assert "style=" not in svg and "<script" not in svg
        # Coordinates are SVG numbers, never localised ("12,5").
        assert not re.search(r'\b(x|y|width|height)="[^"]*,', svg)
    # The backlog chart: one bar per queue; the longest bar is the biggest queue.
    backlog_svg = svgs[0]
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', backlog_svg)]
    assert len(widths) == Queue.objects.count() and max(widths) > 0
    # Intake chart: one column per day of the period.
    assert len(re.findall(r"<rect ", svgs[2])) == 30
    assert html.count("<caption>") >= 6 and 'scope="col"' in html and 'scope="row"' in html
    assert "<script" not in html.split("</header>")[-1].split("<footer")[0]
    assert " style=" not in html


@freeze_time(NOW)
def test_filters_by_period_and_queue(small_fixture, supervisor, verified_client):
    client = verified_client(supervisor)
    gen = small_fixture["gen"]
    html = client.get(
        URL, {"date_from": "2026-06-02", "date_to": "2026-06-03", "queue": gen.pk}
    ).content.decode()
    intake = _cell_rows(html, "Demandes reçues par jour (0 sur la période)")
    assert [row[0] for row in intake[1:-1]] == ["mar 02/06/2026", "mer 03/06/2026"]
    backlog = _cell_rows(html, "Tickets ouverts par file et par statut")
    assert [row[0].removesuffix(" Aucun agent") for row in backlog[1:]] == [gen.name, "Total"]
    html = client.get(URL, {"date_from": "2026-06-02", "date_to": "2026-06-03"}).content.decode()
    intake = _cell_rows(html, "Demandes reçues par jour (2 sur la période)")
    assert 'name="date_from" value="2026-06-02"' in html
    times = {
        r[0]: r[1:]
        for r in _cell_rows(
            html, "Délais depuis la réception (heures calendaires), tickets de la période"
        )[1:]
    }
    assert times["Première réponse"][0] == "2"


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"date_from": "2026-06-20", "date_to": "2026-06-10"},
            "La date de début doit précéder la date de fin.",
        ),
        (
            {"date_from": "2025-01-01", "date_to": "2026-06-10"},
            "La période ne peut pas dépasser 366 jours.",
        ),
        ({"date_from": "hier"}, "Saisissez une date valide"),
        ({"queue": "999999"}, "Choisissez une file de la liste."),
    ],
)
def test_invalid_filters_show_french_errors(params, message, supervisor, verified_client):
    response = verified_client(supervisor).get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    # The figures fall back to the default period.
    assert "Période du 01/06/2026 au 30/06/2026" in html


@freeze_time(NOW)
def test_htmx_request_gets_the_figures_block_only(small_fixture, supervisor, verified_client):
    client = verified_client(supervisor)
    page = client.get(URL).content.decode()
    assert 'hx-trigger="every 60s"' in page and "Actualiser" in page
    partial = client.get(URL, {"queue": small_fixture["hab"].pk}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="dashboard-figures"')
    assert "<html" not in body and "backoffice-nav" not in body
    assert f"queue={small_fixture['hab'].pk}" in body  # the poll keeps the filters
    assert "HX-Request" in partial["Vary"]


@freeze_time(NOW)
def test_csv_export_has_every_section(small_fixture, supervisor, verified_client):
    response = verified_client(supervisor).get(EXPORT_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="tableau-de-bord-')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    titles = [row[0] for row in rows if len(row) == 1]
    assert titles == [
        "Tableau de bord du support",
        "Tickets ouverts par file et par statut",
        "Âge des tickets ouverts",
        "Demandes reçues par jour",
        "Délais (heures calendaires)",
        "Respect des délais cibles (SLA)",
        "Par agent",
        "Réattributions de comptes",
    ]
    as_dict = {row[0]: row[1:] for row in rows if row}
    assert as_dict["Période"] == ["du 01/06/2026 au 30/06/2026"]
    assert as_dict[small_fixture["hab"].name] == ["1", "1", "0", "2"]
    assert as_dict["Alice Agent"] == ["1", "3", "6 h 00 min"]
    assert as_dict["En attente de validation"] == ["1"]
    assert ["Première réponse", "2", "3", "66,7\u00a0%"] in rows


@freeze_time(NOW)
def test_csv_export_neutralises_formulas(supervisor, verified_client):
    hab = Queue.objects.get(slug="habilitation")
    evil = UserFactory(first_name='=HYPERLINK("x")', last_name="")
    TicketFactory(queue=hab, status=Status.EN_COURS, assignee=evil, created_at=at(29))
    text = verified_client(supervisor).get(EXPORT_URL).content.decode()
    assert "'=HYPERLINK" in text
    assert ";=HYPERLINK" not in text and "\n=HYPERLINK" not in text


# --- query count -----------------------------------------------------------------------


def _bulk_tickets(n: int, *, start: int) -> None:
    hab = Queue.objects.get(slug="habilitation")
    gen = Queue.objects.get(slug="general")
    agents = [UserFactory(queues=[hab]) for _ in range(3)]
    now = timezone.now()
    statuses = [Status.NOUVEAU, Status.EN_COURS, Status.EN_ATTENTE, Status.RESOLU]
    rows = []
    for i in range(n):
        created = now - timedelta(hours=3 * i + 1)
        status = statuses[i % 4]
        resolved = created + timedelta(hours=i % 7 + 1) if status == Status.RESOLU else None
        rows.append(
            Ticket(
                reference=f"AP-2026-{start + i:06d}",
                siret="73282932000074",
                denomination="X",
                requester_name="Y",
                phone="0102030405",
                email=f"q{start + i}@exemple.fr",
                motif="autres",
                description="d",
                source="form",
                queue=hab if i % 2 else gen,
                status=status,
                assignee=agents[i % 3] if i % 5 else None,
                created_at=created,
                first_response_at=created + timedelta(hours=1) if i % 2 else None,
                resolved_at=resolved,
                sla_first_response_due=created + timedelta(hours=2),
                sla_resolution_due=created + timedelta(hours=4),
            )
        )
    Ticket.objects.bulk_create(rows)


def _queries(client, url: str, *, cold: bool) -> int:
    from backoffice.dashboard import default_period
    from backoffice.notices.selectors import notices_live

    cache.clear()
    notices_live()
    if not cold:
        client.get(url)  # warms the figures and the navigation counts
        start, end = default_period()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    if cold:
        start, end = default_period()
        assert cache.get(_cache_key(start, end, None)) is not None
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_tickets(supervisor, verified_client):
    client = verified_client(supervisor)
    _bulk_tickets(10, start=100000)
    small = {
        (url, cold): _queries(client, url, cold=cold)
        for url in (URL, EXPORT_URL)
        for cold in (True, False)
    }
    _bulk_tickets(990, start=200000)
    assert Ticket.objects.count() == 1000
    large = {
        (url, cold): _queries(client, url, cold=cold)
        for url in (URL, EXPORT_URL)
        for cold in (True, False)
    }
    assert small == large
    # The cached figures spare the ticket queries.
    assert small[(URL, False)] < small[(URL, True)]


def test_cold_path_clearing_only_the_dashboard_key(supervisor, verified_client):
    """Cold figures with a warm navigation: clear only the dashboard cache key."""
    from backoffice.dashboard import default_period
    from backoffice.notices.selectors import notices_live

    client = verified_client(supervisor)

    def count() -> int:
        cache.clear()
        notices_live()
        client.get(URL)
        start, end = default_period()
        cache.delete(_cache_key(start, end, None))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    _bulk_tickets(10, start=300000)
    small = count()
    _bulk_tickets(990, start=400000)
    assert count() == small


def test_period_default_is_last_30_days():
    from backoffice.dashboard import default_period

    assert default_period(date(2026, 6, 30)) == (date(2026, 6, 1), date(2026, 6, 30))
