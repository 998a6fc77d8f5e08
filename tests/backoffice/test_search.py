"""The search box (tickets/search.py): what each kind of text finds, only among the
tickets the agent may see, by keyset pages with a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory, UserFactory
from tickets.models import Queue
from tickets.search import INDEX_DOCUMENT_SQL, PAGE_SIZE, search_parse

pytestmark = pytest.mark.django_db

URL = reverse("backoffice:search")
SIRET = "73282932000074"
OTHER_SIRET = "35600000000048"


@pytest.fixture
def queues():
    return Queue.objects.get(slug="habilitation"), Queue.objects.get(slug="indemnisation")


@pytest.fixture
def agent(queues):
    return UserFactory(queues=[queues[0]])


@pytest.fixture
def client(agent, verified_client):
    return verified_client(agent)


@pytest.mark.parametrize(
    "typed, kind, value",
    [
        ("ap-2026-000123", "reference", "AP-2026-000123"),
        ("732 829 320 00074", "siret", SIRET),
        ("732.829.320", "siren", "732829320"),
        ("Claire.Dupont@Exemple.fr", "email", "claire.dupont@exemple.fr"),
        ("01 02 03 04 05", "phone", "+33102030405"),
        ("0262 12 34 56", "phone", "+262262123456"),
        ("boulangerie du marché", "text", "boulangerie du marché"),
        ("12345", "text", "12345"),
        ("   ", "empty", ""),
    ],
)
def test_the_text_decides_the_kind_of_search(typed, kind, value):
    query = search_parse(typed)
    assert (query.kind, query.value) == (kind, value)


def test_a_reference_jumps_to_the_ticket_only_for_an_agent_of_its_queue(
    client, queues, verified_client
):
    ticket = TicketFactory(queue=queues[0])
    response = client.get(URL, {"q": ticket.reference.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:ticket_detail", args=[ticket.pk])

    outsider = verified_client(UserFactory(queues=[queues[1]]))
    response = outsider.get(URL, {"q": ticket.reference})
    assert response.status_code == 200
    assert 'data-testid="search-empty"' in response.content.decode()
    assert f'href="{reverse("backoffice:ticket_detail", args=[ticket.pk])}"' not in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "typed",
    [SIRET, "732829320", "demandeur.commun@exemple.fr", "01 02 03 04 05", "orfèvrerie"],
)
def test_results_never_include_a_ticket_of_another_queue(client, queues, typed):
    mine = TicketFactory(
        queue=queues[0], siret=SIRET, email="demandeur.commun@exemple.fr",
        description="Atelier d'orfèvrerie, accès perdu.",
    )  # fmt: skip
    theirs = TicketFactory(
        queue=queues[1], siret=SIRET, email="demandeur.commun@exemple.fr",
        motif="demande_indemnisation",
        description="Atelier d'orfèvrerie, accès perdu.",
    )  # fmt: skip
    body = client.get(URL, {"q": typed}).content.decode()
    assert mine.reference in body
    assert theirs.reference not in body


def test_a_supervisor_finds_them_in_every_queue(queues, verified_client):
    tickets = [TicketFactory(queue=q, siret=SIRET) for q in queues]
    body = verified_client(UserFactory(supervisor=True)).get(URL, {"q": SIRET}).content.decode()
    for ticket in tickets:
        assert ticket.reference in body


def test_siren_finds_every_establishment_of_the_company_and_no_other(client, queues):
    same_company = TicketFactory(queue=queues[0], siret=SIRET)
    other_company = TicketFactory(queue=queues[0], siret=OTHER_SIRET)
    body = client.get(URL, {"q": SIRET[:9]}).content.decode()
    assert same_company.reference in body
    assert other_company.reference not in body
    assert "SIREN (même entreprise)" in body


def test_a_phone_typed_any_way_finds_the_number_stored_by_intake(client, queues):
    ticket = TicketFactory(queue=queues[0], phone="+33102030405")
    for typed in ("01 02 03 04 05", "01.02.03.04.05", "+33 1 02 03 04 05"):
        assert ticket.reference in client.get(URL, {"q": typed}).content.decode(), typed


def test_text_needs_every_word_and_says_why(client, queues):
    both = TicketFactory(queue=queues[0], denomination="Menuiserie Leroy",
                         description="Le gestionnaire est parti.")  # fmt: skip
    one = TicketFactory(queue=queues[0], denomination="Menuiserie Martin",
                        description="Rien à voir.")  # fmt: skip
    body = client.get(URL, {"q": "menuiserie gestionnaire"}).content.decode()
    assert both.reference in body
    assert one.reference not in body
    assert "dénomination, demandeur ou description" in body


def test_pages_follow_each_other_without_overlap_and_in_a_fixed_number_of_queries(
    client, queues, django_assert_num_queries
):
    now = timezone.now()
    made = [
        TicketFactory(queue=queues[0], siret=SIRET, created_at=now - timedelta(minutes=i))
        for i in range(PAGE_SIZE + 5)
    ]
    client.get(URL, {"q": SIRET})  # warm the session and the navigation's counts
    # Session, user, the agent's queues, the page (no second-factor device read).
    with django_assert_num_queries(4):
        first = client.get(URL, {"q": SIRET})
    TicketFactory(queue=queues[0], siret=OTHER_SIRET)
    with django_assert_num_queries(4):  # the same with one result
        client.get(URL, {"q": OTHER_SIRET})
    body = first.content.decode()
    cursor = re.search(r"apres=([\w-]+)", body).group(1)
    second = client.get(URL, {"q": SIRET, "apres": cursor}).content.decode()
    found_first = {t.reference for t in made if t.reference in body}
    found_second = {t.reference for t in made if t.reference in second}
    assert len(found_first) == PAGE_SIZE
    assert len(found_second) == 5
    assert not found_first & found_second
    assert "Résultats suivants" not in second
    # The newest first.
    assert body.index(made[0].reference) < body.index(made[1].reference)


def test_a_bad_cursor_starts_again_from_the_first_page(client, queues):
    ticket = TicketFactory(queue=queues[0], siret=SIRET)
    response = client.get(URL, {"q": SIRET, "apres": "pas-un-curseur"})
    assert response.status_code == 200
    assert ticket.reference in response.content.decode()


def test_the_queue_pages_free_text_uses_the_same_engine(client, queues):
    ticket = TicketFactory(queue=queues[0], siret=SIRET, status="nouveau")
    other = TicketFactory(queue=queues[0], siret=OTHER_SIRET, status="nouveau")
    body = client.get(
        reverse("backoffice:queue", args=["habilitation"]), {"q": "732 829 320 00074"}
    ).content.decode()
    assert ticket.reference in body
    assert other.reference not in body


def test_every_back_office_page_has_the_search_box(client):
    body = client.get(reverse("backoffice:my_tickets")).content.decode()
    assert f'action="{URL}"' in body
    assert 'id="header-search-input"' in body


@pytest.mark.parametrize("name", ["0012_search.py", "0018_perf.py"])
def test_the_migration_builds_the_index_on_the_expression_the_search_uses(name):
    migration = Path(__file__).resolve().parents[2] / "tickets/migrations" / name
    assert "".join(INDEX_DOCUMENT_SQL.split()) in "".join(
        "".join(re.findall(r'"([^"]*)"', migration.read_text())).split()
    )


@pytest.mark.services
def test_french_full_text_ignores_accents_and_plurals_on_postgresql(client, queues):
    ticket = TicketFactory(
        queue=queues[0],
        denomination="Boulangeries Réunies",
        description="Les pâtissières ont changé d'adresse électronique.",
    )
    for typed in ("boulangerie", "patissiere", "adresse electronique", "réunie"):
        assert ticket.reference in client.get(URL, {"q": typed}).content.decode(), typed
    assert ticket.reference not in client.get(URL, {"q": "menuiserie"}).content.decode()


@pytest.mark.services
def test_the_planner_keeps_the_frequency_of_a_thousand_words_of_the_document():
    # Without it a rare word is estimated at thousands of rows and the search walks the
    # whole table newest first (1.2 s at 1,000,000 tickets; tickets/migrations/0019).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute"
            " WHERE attrelid = 'tickets_ticket'::regclass AND attname = 'search_document'"
        )
        assert cursor.fetchone() == (1000,)


@pytest.mark.services
@pytest.mark.parametrize("few_matches", [2000, 1])
def test_a_text_search_finds_the_same_page_through_the_index_or_the_date_walk(
    client, queues, monkeypatch, few_matches
):
    """PostgreSQL reads a rare word's tickets through the GIN index first (at most
    FEW_MATCHES of them), a common word's by walking the newest tickets: same results,
    same order, same access rule, same cursor."""
    from tickets import search

    monkeypatch.setattr(search, "FEW_MATCHES", few_matches)
    now = timezone.now()
    mine = [
        TicketFactory(
            queue=queues[0],
            description=f"Atelier d'orfèvrerie n° {i}.",
            created_at=now - timedelta(minutes=i),
        )  # fmt: skip
        for i in range(PAGE_SIZE + 2)
    ]
    theirs = TicketFactory(queue=queues[1], motif="demande_indemnisation",
                           description="Atelier d'orfèvrerie.", created_at=now)  # fmt: skip
    TicketFactory(queue=queues[0], description="Boulangerie.", created_at=now)
    first = client.get(URL, {"q": "orfèvrerie"}).content.decode()
    shown = re.findall(r"AP-\d{4}-\d{6,7}", first)
    expected = [t.reference for t in mine[:PAGE_SIZE]]
    assert [r for r in dict.fromkeys(shown) if r in expected] == expected
    assert theirs.reference not in first
    after = re.search(r'href="[^"]*(apres=[^"&]+)', first).group(1)
    second = client.get(f"{URL}?q=orf%C3%A8vrerie&{after}").content.decode()
    assert all(t.reference in second for t in mine[PAGE_SIZE:])
    assert theirs.reference not in second
