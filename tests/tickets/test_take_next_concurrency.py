"""Two agents pressing "prendre le ticket suivant" at the same moment, on PostgreSQL with
real transactions: each gets a different ticket, nobody gets an error or waits for the
other's ticket."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.factories import TicketFactory, UserFactory
from tickets.exceptions import NoTicketAvailable
from tickets.models import EventKind, Queue, Ticket
from tickets.services import ticket_take_next


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_agents_taking_the_next_ticket_at_once_get_different_tickets():
    queue = Queue.objects.get(slug="habilitation")
    agents = [UserFactory(queues=[queue]) for _ in range(6)]
    tickets = [TicketFactory(queue=queue) for _ in range(4)]
    barrier = threading.Barrier(len(agents))
    results: dict[int, int | str] = {}

    def take(agent):
        try:
            barrier.wait()
            results[agent.pk] = ticket_take_next(queue=queue, actor=agent).pk
        except NoTicketAvailable:
            results[agent.pk] = "none"
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    taken = [value for value in results.values() if value != "none"]
    # Four tickets, six agents: four winners with four different tickets, two told so.
    assert sorted(taken) == sorted(t.pk for t in tickets)
    assert list(results.values()).count("none") == 2
    for ticket in Ticket.objects.filter(pk__in=taken):
        assert results[ticket.assignee_id] == ticket.pk
        assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_locked_candidate_is_skipped_not_waited_for():
    """While one agent's transaction holds the next ticket, another agent gets the one
    after it at once (SKIP LOCKED), instead of blocking."""
    from django.db import connections, transaction

    queue = Queue.objects.get(slug="habilitation")
    first_agent, second_agent = UserFactory(queues=[queue]), UserFactory(queues=[queue])
    first, second = TicketFactory(queue=queue), TicketFactory(queue=queue)
    locked = threading.Event()
    release = threading.Event()

    def hold_first():
        with transaction.atomic():
            Ticket.objects.select_for_update().get(pk=first.pk)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert locked.wait(10)
    try:
        got = ticket_take_next(queue=queue, actor=second_agent)
    finally:
        release.set()
        holder.join(10)
    assert got.pk == second.pk
    assert ticket_take_next(queue=queue, actor=first_agent).pk == first.pk
