"""Permission rules beyond the matrix (tests/backoffice/test_permission_matrix.py, which
walks every route and API operation): bulk actions, assignees outside the queue, filters
that would probe another queue."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(request, verified_client):
    def make(persona):
        if persona == "anonymous":
            return Client(), None
        if persona == "unverified":
            # The agent of the queue, with its password checked but no second factor
            # verified in this session (it has a confirmed device).
            from tests.factories import TOTPDeviceFactory

            user = request.getfixturevalue("agent")
            TOTPDeviceFactory(user=user)
            client = Client()
            client.force_login(user)
            return client, user
        user = request.getfixturevalue(persona)
        return verified_client(user), user

    return make


def _post_api(client, url, payload=None):
    return client.post(url, data=json.dumps(payload or {}), content_type="application/json")


def _snapshot(ticket):
    ticket.refresh_from_db()
    return (
        ticket.version,
        ticket.assignee_id,
        ticket.status,
        ticket.events.count(),
        ticket.messages.count(),
    )


@pytest.mark.parametrize("persona", ["other_agent", "anonymous", "unverified"])
def test_bulk_by_someone_not_allowed_changes_nothing(client_for, persona, habilitation_queue):
    ticket = TicketFactory()
    client, user = client_for(persona)
    before = _snapshot(ticket)
    for data in (
        {"action": "assign", "assignee": "me", "tickets": [ticket.pk]},
        {"action": "status", "status": "en_cours", "tickets": [ticket.pk]},
    ):
        client.post(reverse("backoffice:tickets_bulk"), {**data, "next": "/backoffice/"})
    assert _snapshot(ticket) == before


def test_an_agent_cannot_assign_to_someone_outside_the_queue(agent, other_agent, verified_client):
    ticket = TicketFactory()
    client = verified_client(agent)
    client.post(
        reverse("backoffice:ticket_assign", args=[ticket.pk]),
        {"version": ticket.version, "assignee": other_agent.pk},
    )
    ticket.refresh_from_db()
    assert ticket.assignee is None
    response = _post_api(
        client,
        f"/api/v1/tickets/{ticket.pk}/assign",
        {"assignee_id": other_agent.pk, "version": ticket.version},
    )
    assert response.status_code == 403
    assert "ne fait pas partie de la file" in response.json()["detail"]


def test_filtering_on_another_queue_agent_id_is_refused(agent, other_agent, verified_client):
    """The assignee filter offers the agents of the actor's queues only: picking someone
    else is refused like an unknown agent (404, as anything outside one's queues), not a
    way to probe another queue's workload."""
    response = verified_client(agent).get(f"/api/v1/tickets?scope=mine&assignee={other_agent.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Cet agent n'existe pas."}


def test_api_tickets_list_of_unknown_scope_or_missing_queue(agent, verified_client):
    client = verified_client(agent)
    assert client.get("/api/v1/tickets").status_code == 404
    # The scope is an enum of the schema: another value is invalid input.
    assert client.get("/api/v1/tickets?scope=everything").status_code == 422
    assert client.get("/api/v1/tickets?queue=nope").status_code == 404
    assert Ticket.objects.count() == 0
