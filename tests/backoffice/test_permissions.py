"""The permission matrix: every back-office URL and every agent API operation, for each
persona. The ticket lives in the Habilitation queue: the agent of that queue, the
supervisor and the admin may work on it; an agent of another queue gets a 404 for its ids
(never a 403 that would confirm they exist, never its data); anonymous users get the login
page or a 401. A refused write changes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "unverified", "agent", "other_agent", "supervisor", "admin_user"]
ALLOWED = {"agent", "supervisor", "admin_user"}


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


# (name, kind, method, url builder, data builder). ``kind``: "ui" or "api"; "object"
# operations name the Habilitation ticket or queue; "list" ones are lists whose content
# must not show the ticket to an outsider.
OBJECT_OPERATIONS = [
    ("queue page", "ui", "get", lambda t: reverse("backoffice:queue", args=["habilitation"]), None),
    (
        "queue csv",
        "ui",
        "get",
        lambda t: reverse("backoffice:queue_export", args=["habilitation", "csv"]),
        None,
    ),
    (
        "queue xlsx",
        "ui",
        "get",
        lambda t: reverse("backoffice:queue_export", args=["habilitation", "xlsx"]),
        None,
    ),
    (
        "take next",
        "ui",
        "post",
        lambda t: reverse("backoffice:queue_take_next", args=["habilitation"]),
        lambda t, u: {},
    ),
    ("ticket page", "ui", "get", lambda t: reverse("backoffice:ticket_detail", args=[t.pk]), None),
    (
        "claim",
        "ui",
        "post",
        lambda t: reverse("backoffice:ticket_claim", args=[t.pk]),
        lambda t, u: {"version": t.version},
    ),
    (
        "assign",
        "ui",
        "post",
        lambda t: reverse("backoffice:ticket_assign", args=[t.pk]),
        lambda t, u: {"version": t.version, "assignee": u.pk if u else 1},
    ),
    (
        "status",
        "ui",
        "post",
        lambda t: reverse("backoffice:ticket_status", args=[t.pk]),
        lambda t, u: {"version": t.version, "status": "en_cours"},
    ),
    (
        "note",
        "ui",
        "post",
        lambda t: reverse("backoffice:ticket_note", args=[t.pk]),
        lambda t, u: {"note-body": "Vérifié au téléphone."},
    ),
    (
        "reply",
        "ui",
        "post",
        lambda t: reverse("backoffice:ticket_reply", args=[t.pk]),
        lambda t, u: {"reply-body": "Bonjour, c'est fait.", "reply-version": t.version},
    ),
    ("api list queue", "api", "get", lambda t: "/api/v1/tickets?queue=habilitation", None),
    ("api detail", "api", "get", lambda t: f"/api/v1/tickets/{t.pk}", None),
    (
        "api claim",
        "api",
        "post",
        lambda t: f"/api/v1/tickets/{t.pk}/claim?version={t.version}",
        lambda t, u: {},
    ),
    (
        "api take next",
        "api",
        "post",
        lambda t: "/api/v1/queues/habilitation/take-next",
        lambda t, u: {},
    ),
    (
        "api assign",
        "api",
        "post",
        lambda t: f"/api/v1/tickets/{t.pk}/assign",
        lambda t, u: {"assignee_id": u.pk if u else 1, "version": t.version},
    ),
    (
        "api status",
        "api",
        "post",
        lambda t: f"/api/v1/tickets/{t.pk}/status",
        lambda t, u: {"status": "en_cours", "version": t.version},
    ),
    (
        "api note",
        "api",
        "post",
        lambda t: f"/api/v1/tickets/{t.pk}/notes",
        lambda t, u: {"body": "Note."},
    ),
    (
        "api reply",
        "api",
        "post",
        lambda t: f"/api/v1/tickets/{t.pk}/replies",
        lambda t, u: {"body": "Réponse.", "version": t.version},
    ),
]

LIST_OPERATIONS = [
    ("home", "ui", lambda: reverse("backoffice:home")),
    ("my tickets", "ui", lambda: reverse("backoffice:my_tickets")),
    ("my tickets csv", "ui", lambda: reverse("backoffice:my_tickets_export", args=["csv"])),
    ("unassigned", "ui", lambda: reverse("backoffice:unassigned")),
    ("unassigned csv", "ui", lambda: reverse("backoffice:unassigned_export", args=["csv"])),
    ("unassigned xlsx", "ui", lambda: reverse("backoffice:unassigned_export", args=["xlsx"])),
    ("tokens", "ui", lambda: reverse("backoffice:tokens")),
    ("api mine", "api", lambda: "/api/v1/tickets?scope=mine"),
    ("api unassigned", "api", lambda: "/api/v1/tickets?scope=unassigned"),
    ("api queues", "api", lambda: "/api/v1/queues"),
]


def _snapshot(ticket):
    ticket.refresh_from_db()
    return (
        ticket.version,
        ticket.assignee_id,
        ticket.status,
        ticket.events.count(),
        ticket.messages.count(),
    )


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    content = response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import io

        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        return " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
    return content.decode("utf-8", "replace")


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "name, kind, method, url_of, data_of", OBJECT_OPERATIONS, ids=[o[0] for o in OBJECT_OPERATIONS]
)
def test_object_operations(client_for, persona, name, kind, method, url_of, data_of):
    ticket = TicketFactory(reference="AP-2026-777777")
    client, user = client_for(persona)
    before = _snapshot(ticket)
    url = url_of(ticket)
    if method == "get":
        response = client.get(url)
    elif kind == "api":
        response = _post_api(client, url, data_of(ticket, user))
    else:
        response = client.post(url, data_of(ticket, user))

    if persona == "anonymous":
        if kind == "api":
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("backoffice:login"))
        assert _snapshot(ticket) == before
    elif persona == "unverified":
        if kind == "api":
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("backoffice:otp_verify"))
        assert _snapshot(ticket) == before
    elif persona in ALLOWED:
        assert response.status_code in (200, 201, 302), response.content[:300]
        if method == "post":
            assert _snapshot(ticket) != before
            if kind == "ui":
                assert response["Location"].startswith("/backoffice/tickets/")
        else:
            assert "AP-2026-777777" in _body(response)
            assert "!!MISSING" not in _body(response)
    else:  # an agent of another queue
        assert response.status_code == 404
        assert "AP-2026-777777" not in _body(response)
        assert _snapshot(ticket) == before


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name, kind, url_of", LIST_OPERATIONS, ids=[o[0] for o in LIST_OPERATIONS])
def test_list_operations(client_for, persona, name, kind, url_of):
    TicketFactory(reference="AP-2026-777777")
    client, _user = client_for(persona)
    response = client.get(url_of())
    if persona in ("anonymous", "unverified"):
        expected = 401 if kind == "api" else 302
        assert response.status_code == expected
        if persona == "unverified" and kind == "ui":
            assert response["Location"].startswith(reverse("backoffice:otp_verify"))
        return
    assert response.status_code in (200, 302)
    body = _body(response) if response.status_code == 200 else ""
    assert "!!MISSING" not in body
    if persona == "other_agent":
        assert "AP-2026-777777" not in body
        # Nor the queue itself, in the navigation or the API's counts.
        assert "/backoffice/files/habilitation/" not in body
        assert '"slug": "habilitation"' not in body


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
    else is a form error, not a way to probe another queue's workload."""
    response = verified_client(agent).get(f"/api/v1/tickets?scope=mine&assignee={other_agent.pk}")
    assert response.status_code == 422


def test_api_tickets_list_of_unknown_scope_or_missing_queue(agent, verified_client):
    client = verified_client(agent)
    assert client.get("/api/v1/tickets").status_code == 404
    assert client.get("/api/v1/tickets?scope=everything").status_code == 404
    assert client.get("/api/v1/tickets?queue=nope").status_code == 404
    assert Ticket.objects.count() == 0
