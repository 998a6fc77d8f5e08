"""The permission matrix, generated from the URLconf and the OpenAPI schema: every
back-office route and every API operation, for each persona.

The objects live in the Habilitation queue: a ticket, a reassignment of its establishment's
extranet account, an incident notice linked to the ticket. The agent of that queue, the
supervisor and the admin work on them; an agent of another queue gets a 404 for their ids
(never a 403 that would confirm they exist), sees none of their data in lists, and changes
nothing; anonymous users get the login page or a 401; a user whose second factor is not
verified gets the code page or a 401.

``ROUTES`` and ``OPERATIONS`` must name every route and operation that exists: a new one
fails ``test_every_route_and_operation_is_in_the_matrix`` until it is classified here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.extranet.models import AccountReassignment
from accounts.staff.models import PersonalToken
from accounts.staff.services import personal_token_create
from backoffice.api import api
from backoffice.notices.models import IncidentNotice
from backoffice.notices.services import notice_create, notice_link_ticket, notice_publish_now
from tests.accounts.helpers import record_siret_verification
from tests.factories import (
    EstablishmentFactory,
    ExtranetAccountFactory,
    TicketFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from tests.support.documents import attach
from tickets.models import CannedReply, Motif, RoutingRule

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "unverified", "agent", "other_agent", "supervisor", "admin_user"]
STAFF = {"agent", "other_agent", "supervisor", "admin_user"}
REFERENCE = "AP-2026-777777"
IDENTIFIANT = "APMATRIX42"
HOLDER_EMAIL = "titulaire.secret@boulangerie.example"


@dataclass
class World:
    ticket: object
    reassignment: AccountReassignment
    notice: IncidentNotice
    token: PersonalToken
    rule: RoutingRule
    document: object = None
    user: object = None
    canned_reply: object = None


@dataclass(frozen=True)
class Case:
    """How to call one route, and what each persona must get.

    ``scope``:
    * ``"queue"``: the object belongs to the Habilitation queue. Staff of that queue
      (agent, supervisor, admin) get an answer in ``ok``; the agent of another queue gets
      ``outsider`` (404 unless said otherwise), sees nothing of the objects, changes
      nothing.
    * ``"list"``: every staff user gets an answer in ``ok``; the outsider's answer shows
      nothing of the Habilitation objects.
    * ``"supervisor"``: supervisors and admins only; agents get 403.
    * ``"staff"``: every staff user (the objects belong to no queue).
    """

    method: str
    url: Callable[[World], str]
    scope: str
    data: Callable[[World], dict] | None = None
    ok: frozenset[int] = frozenset({200, 201, 302})
    outsider: frozenset[int] = frozenset({404})
    # Persona → statuses that persona gets instead of ``ok`` (a role refusal that is not
    # an access refusal, e.g. an agent approving a reassignment).
    refusals: dict[str, frozenset[int]] = field(default_factory=dict)


def _ui(name: str, *args: Callable[[World], object]) -> Callable[[World], str]:
    return lambda w: reverse(f"backoffice:{name}", args=[arg(w) for arg in args])


TICKET = lambda w: w.ticket.pk  # noqa: E731
REASSIGNMENT = lambda w: w.reassignment.pk  # noqa: E731
NOTICE = lambda w: w.notice.pk  # noqa: E731
DOCUMENT = lambda w: w.document.pk  # noqa: E731
HABILITATION = lambda w: "habilitation"  # noqa: E731
CSV = lambda w: "csv"  # noqa: E731

NOT_THE_PREPARER_ROLE = {"agent": frozenset({403})}
# Approving takes the supervisor role itself: an administrator cannot (issue 12, point 9).
APPROVER_ROLE = {"agent": frozenset({403}), "admin_user": frozenset({403})}


def SAVED_VIEW(w) -> int:  # noqa: N802 - named like the lambdas above
    """A saved view of the Habilitation queue shared with it, owned by the supervisor
    persona when that is who calls (the owner may change it), else by another supervisor."""
    from accounts.staff.models import Role
    from backoffice.savedviews.models import SavedView
    from tickets.models import Queue

    if w.user is not None and w.user.role == Role.SUPERVISOR:
        owner = w.user
    else:
        owner = UserFactory(supervisor=True)
    queue = Queue.objects.get(slug="habilitation")
    view = SavedView.objects.create(
        owner=owner,
        name="Vue partagée",
        scope="queue",
        queue=queue,
        params={"status": ["nouveau"]},
        shared_with=queue,
    )
    return view.pk


NOT_THE_VIEWS_OWNER = {"agent": frozenset({403}), "admin_user": frozenset({403})}


def FILE_VERSION(w) -> str:  # noqa: N802 - named like the lambdas above
    """The version of the reassignment's file the approval page or GET /reassignments/{id}
    hands out: an approval carries it."""
    from accounts.extranet.selectors import reassignment_file_version

    return reassignment_file_version(reassignment_id=w.reassignment.pk)


# Every route of the ``backoffice`` namespace. The login pages are public by nature and
# are covered by tests/backoffice/test_auth.py.
AUTH_ROUTES = {"login", "otp_verify", "otp_enrol", "otp_enrol_link", "logout"}
ROUTES: dict[str, Case] = {
    "home": Case("get", _ui("home"), "list"),
    "queue": Case("get", _ui("queue", HABILITATION), "queue"),
    "queue_export": Case("get", _ui("queue_export", HABILITATION, CSV), "queue"),
    "queue_take_next": Case("post", _ui("queue_take_next", HABILITATION), "queue"),
    # Searched by the Habilitation ticket's SIRET: the outsider's page must not show it.
    "search": Case("get", lambda w: reverse("backoffice:search") + f"?q={w.ticket.siret}", "list"),
    "my_tickets": Case("get", _ui("my_tickets"), "list"),
    "my_tickets_export": Case("get", _ui("my_tickets_export", CSV), "list"),
    "unassigned": Case("get", _ui("unassigned"), "list"),
    "unassigned_export": Case("get", _ui("unassigned_export", CSV), "list"),
    "tickets_bulk": Case(
        "post",
        _ui("tickets_bulk"),
        "queue",
        data=lambda w: {"action": "status", "status": "en_attente", "tickets": [w.ticket.pk]},
        # The bulk page goes back to the list with a message: the refusal is the message
        # and the unchanged rows.
        outsider=frozenset({302}),
    ),
    "ticket_detail": Case("get", _ui("ticket_detail", TICKET), "queue"),
    "ticket_extranet_panel": Case("get", _ui("ticket_extranet_panel", TICKET), "queue"),
    "ticket_claim": Case(
        "post", _ui("ticket_claim", TICKET), "queue", data=lambda w: {"version": 1}
    ),
    "ticket_assign": Case(
        "post",
        _ui("ticket_assign", TICKET),
        "queue",
        data=lambda w: {"version": 1, "assignee": w.user.pk if w.user else ""},
    ),
    "ticket_status": Case(
        "post",
        _ui("ticket_status", TICKET),
        "queue",
        data=lambda w: {"version": 1, "status": "en_cours"},
    ),
    "ticket_note": Case(
        "post", _ui("ticket_note", TICKET), "queue", data=lambda w: {"note-body": "Vérifié."}
    ),
    "ticket_reply": Case(
        "post",
        _ui("ticket_reply", TICKET),
        "queue",
        # The ticket's current version: a stale one is refused on the page itself (409).
        data=lambda w: {
            "reply-body": "Bonjour.",
            "reply-version": type(w.ticket).objects.get(pk=w.ticket.pk).version,
        },
    ),
    "ticket_siret_verify": Case("get", _ui("ticket_siret_verify", TICKET), "queue"),
    # The requester's documents: each download and preview is a timeline event for those
    # who may see the ticket; nothing for an agent of another queue.
    "ticket_document_download": Case(
        "get", _ui("ticket_document_download", TICKET, DOCUMENT), "queue"
    ),
    "ticket_document_preview": Case(
        "get", _ui("ticket_document_preview", TICKET, DOCUMENT), "queue"
    ),
    "ticket_document_reject": Case(
        "post",
        _ui("ticket_document_reject", TICKET, DOCUMENT),
        "queue",
        data=lambda w: {"reason": "Kbis de plus de trois mois."},
    ),
    "ticket_documents_request": Case(
        "post",
        _ui("ticket_documents_request", TICKET),
        "queue",
        data=lambda w: {"body": "Merci d'envoyer :", "kinds": ["kbis"], "version": ""},
    ),
    "ticket_followup_link_renew": Case("post", _ui("ticket_followup_link_renew", TICKET), "queue"),
    "reassignment_list": Case("get", _ui("reassignment_list"), "list"),
    "reassignment_detail": Case("get", _ui("reassignment_detail", REASSIGNMENT), "queue"),
    "reassignment_prepare": Case(
        "get", lambda w: reverse("backoffice:reassignment_prepare", args=[REFERENCE]), "queue"
    ),
    "reassignment_approve": Case(
        "post",
        _ui("reassignment_approve", REASSIGNMENT),
        "queue",
        data=lambda w: {"approve-file_version": FILE_VERSION(w)},
        refusals=APPROVER_ROLE,
    ),
    "reassignment_reject": Case(
        "post",
        _ui("reassignment_reject", REASSIGNMENT),
        "queue",
        data=lambda w: {"reject-comment": "Pièces insuffisantes."},
        refusals=NOT_THE_PREPARER_ROLE,
    ),
    "reassignment_cancel": Case(
        "post",
        _ui("reassignment_cancel", REASSIGNMENT),
        "queue",
        data=lambda w: {"cancel-comment": "Doublon."},
        refusals=NOT_THE_PREPARER_ROLE,
    ),
    # Only after the change applied: for everyone who may see it, a refusal message (302).
    "reassignment_activation_resend": Case(
        "post", _ui("reassignment_activation_resend", REASSIGNMENT), "queue"
    ),
    "dashboard": Case("get", _ui("dashboard"), "supervisor"),
    "dashboard_export": Case("get", _ui("dashboard_export"), "supervisor"),
    "routing": Case("get", _ui("routing"), "supervisor"),
    "routing_rule_edit": Case("get", _ui("routing_rule_edit", lambda w: w.rule.pk), "supervisor"),
    "routing_queue_members": Case("get", _ui("routing_queue_members", HABILITATION), "supervisor"),
    "routing_preview": Case("get", _ui("routing_preview"), "supervisor"),
    "notices": Case("get", _ui("notices"), "list"),
    "notice_create": Case("get", _ui("notice_create"), "staff"),
    "notice_preview": Case("post", _ui("notice_preview"), "staff", data=lambda w: {}),
    "notice_detail": Case("get", _ui("notice_detail", NOTICE), "list"),
    "notice_edit": Case("get", _ui("notice_edit", NOTICE), "staff"),
    "notice_schedule": Case("post", _ui("notice_schedule", NOTICE), "staff", data=lambda w: {}),
    "notice_unschedule": Case("post", _ui("notice_unschedule", NOTICE), "staff"),
    "notice_publish": Case("post", _ui("notice_publish", NOTICE), "staff"),
    "notice_withdraw": Case("post", _ui("notice_withdraw", NOTICE), "staff"),
    # Answers the linked tickets the user may work on: never those of another queue.
    "notice_resolve": Case(
        "post",
        _ui("notice_resolve", NOTICE),
        "list",
        data=lambda w: {"body": "Incident résolu : votre demande est traitée."},
    ),
    "tokens": Case("get", _ui("tokens"), "list"),
    # A token is its owner's: anybody else's revocation finds nothing (a message).
    "token_revoke": Case("post", _ui("token_revoke", lambda w: w.token.pk), "staff"),
    # Saved views (issue 13): a supervisor's view of the Habilitation queue, shared with it.
    # Its members open it (read-only: changing it is the owner's, 403); outsiders get 404.
    "saved_views": Case("get", _ui("saved_views"), "list"),
    "saved_view_create": Case(
        "post",
        _ui("saved_view_create"),
        "queue",
        data=lambda w: {"name": "Ma vue", "scope": "queue", "queue": "habilitation"},
    ),
    "saved_view": Case("get", _ui("saved_view", SAVED_VIEW), "queue"),
    "saved_view_rename": Case(
        "post",
        _ui("saved_view_rename", SAVED_VIEW),
        "queue",
        data=lambda w: {"name": "Renommée"},
        refusals=NOT_THE_VIEWS_OWNER,
    ),
    "saved_view_delete": Case(
        "post", _ui("saved_view_delete", SAVED_VIEW), "queue", refusals=NOT_THE_VIEWS_OWNER
    ),
    "saved_view_share": Case(
        "post",
        _ui("saved_view_share", SAVED_VIEW),
        "queue",
        data=lambda w: {"queue": "habilitation"},
        refusals=NOT_THE_VIEWS_OWNER,
    ),
    "list_columns": Case("post", _ui("list_columns"), "staff", data=lambda w: {"columns": []}),
    # Canned replies: managed by supervisors only (agents insert them on the ticket page).
    "canned_replies": Case("get", _ui("canned_replies"), "supervisor"),
    "canned_reply_create": Case("get", _ui("canned_reply_create"), "supervisor"),
    "canned_reply_edit": Case(
        "get", _ui("canned_reply_edit", lambda w: w.canned_reply.pk), "supervisor"
    ),
    "canned_reply_deactivate": Case(
        "post", _ui("canned_reply_deactivate", lambda w: w.canned_reply.pk), "supervisor"
    ),
}

# Every operation of the OpenAPI schema, by (method, path template).
PUBLIC_OPERATIONS = {
    # The extranet's own key (tests/tickets/test_api_intake.py) and the public banner.
    ("POST", "/api/v1/assistance-requests"),
    # The extranet's key too: documents for a request it filed (tests/tickets/test_documents.py).
    ("POST", "/api/v1/assistance-requests/{reference}/documents"),
    ("GET", "/api/v1/notices/active"),
}
OPERATIONS: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/tickets"): Case("get", lambda w: "/api/v1/tickets?scope=unassigned", "list"),
    ("GET", "/api/v1/tickets/{ticket_id}"): Case(
        "get", lambda w: f"/api/v1/tickets/{w.ticket.pk}", "queue"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/claim"): Case(
        "post", lambda w: f"/api/v1/tickets/{w.ticket.pk}/claim", "queue"
    ),
    ("POST", "/api/v1/queues/{slug}/take-next"): Case(
        "post", lambda w: "/api/v1/queues/habilitation/take-next", "queue"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/assign"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/assign",
        "queue",
        data=lambda w: {"assignee_id": None},
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/status"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/status",
        "queue",
        data=lambda w: {"status": "en_cours"},
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/notes"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/notes",
        "queue",
        data=lambda w: {"body": "Note."},
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/replies"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/replies",
        "queue",
        data=lambda w: {"body": "Réponse."},
    ),
    ("GET", "/api/v1/queues"): Case("get", lambda w: "/api/v1/queues", "list"),
    ("GET", "/api/v1/tickets/{ticket_id}/siret-check"): Case(
        "get", lambda w: f"/api/v1/tickets/{w.ticket.pk}/siret-check", "queue"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/siret-verification"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/siret-verification",
        "queue",
        data=lambda w: {"verdict": "failed", "comment": "Dénomination non identique."},
        ok=frozenset({201}),
    ),
    ("GET", "/api/v1/reassignments"): Case("get", lambda w: "/api/v1/reassignments", "list"),
    ("POST", "/api/v1/tickets/{reference}/reassignments"): Case(
        "post",
        lambda w: f"/api/v1/tickets/{REFERENCE}/reassignments",
        "queue",
        data=lambda w: {
            "new_holder_last_name": "Durand",
            "new_holder_first_name": "Léa",
            "new_holder_email": "lea.durand@boulangerie.example",
            "new_holder_phone": "01 02 03 04 05",
            "evidence_notes": "Kbis vérifié.",
        },
        # One open reassignment per account: a second preparation is a conflict.
        ok=frozenset({201, 409}),
    ),
    ("GET", "/api/v1/reassignments/{reassignment_id}"): Case(
        "get", lambda w: f"/api/v1/reassignments/{w.reassignment.pk}", "queue"
    ),
    ("POST", "/api/v1/reassignments/{reassignment_id}/approve"): Case(
        "post",
        lambda w: f"/api/v1/reassignments/{w.reassignment.pk}/approve",
        "queue",
        data=lambda w: {"file_version": FILE_VERSION(w)},
        ok=frozenset({200}),
        refusals=APPROVER_ROLE,
    ),
    ("POST", "/api/v1/reassignments/{reassignment_id}/cancel"): Case(
        "post",
        lambda w: f"/api/v1/reassignments/{w.reassignment.pk}/cancel",
        "queue",
        data=lambda w: {"comment": "Doublon."},
        ok=frozenset({200}),
        refusals=NOT_THE_PREPARER_ROLE,
    ),
    ("POST", "/api/v1/reassignments/{reassignment_id}/reject"): Case(
        "post",
        lambda w: f"/api/v1/reassignments/{w.reassignment.pk}/reject",
        "queue",
        data=lambda w: {"comment": "Pièces insuffisantes."},
        ok=frozenset({200}),
        refusals=NOT_THE_PREPARER_ROLE,
    ),
}


# --- What exists ----------------------------------------------------------------------------


def _walk(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            yield namespace, pattern.name


def backoffice_route_names() -> set[str]:
    return {
        name for namespace, name in _walk(get_resolver().url_patterns) if namespace == "backoffice"
    }


def api_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_every_route_and_operation_is_in_the_matrix():
    assert backoffice_route_names() == set(ROUTES) | AUTH_ROUTES
    assert api_operations() == set(OPERATIONS) | PUBLIC_OPERATIONS


# --- The world and the personas -------------------------------------------------------------


@pytest.fixture
def world(agent, habilitation_queue):
    establishment = EstablishmentFactory(siret="73282932000074")
    account = ExtranetAccountFactory(
        establishment=establishment, identifiant=IDENTIFIANT, holder_email=HOLDER_EMAIL
    )
    ticket = TicketFactory(
        reference=REFERENCE,
        siret=establishment.siret,
        establishment=establishment,
        motif=Motif.HABILITATION_EXTRANET,
        queue=habilitation_queue,
    )
    preparer = UserFactory(queues=[habilitation_queue])
    record_siret_verification(ticket, actor=preparer)
    reassignment = AccountReassignment.objects.create(
        ticket=ticket,
        account=account,
        new_holder_last_name="Durand",
        new_holder_first_name="Léa",
        new_holder_email="lea.durand@boulangerie.example",
        new_holder_phone="+33102030405",
        evidence_notes="Kbis vérifié.",
        previous_holder_email=HOLDER_EMAIL,
        previous_holder_name="Ancien Titulaire",
        prepared_by=preparer,
        prepared_at=timezone.now(),
    )
    notice = notice_create(
        actor=preparer,
        title="Incident",
        text="Un incident technique s'est produit.",
        level="info",
        starts_at=timezone.now() - timedelta(minutes=1),
        affected_motifs=[Motif.HABILITATION_EXTRANET],
    )
    notice_publish_now(notice=notice, actor=preparer)
    notice_link_ticket(ticket=ticket)
    token, _raw = personal_token_create(user=agent, name="script")
    document = attach(ticket)
    return World(
        ticket=ticket,
        document=document,
        reassignment=reassignment,
        notice=notice,
        token=token,
        rule=RoutingRule.objects.get(motif=Motif.HABILITATION_EXTRANET),
        canned_reply=CannedReply.objects.create(
            queue=habilitation_queue,
            title="Réattribution",
            body="Bonjour {demandeur},",
            created_at=timezone.now(),
            updated_at=timezone.now(),
        ),
    )


@pytest.fixture
def client_for(request, verified_client):
    def make(persona):
        if persona == "anonymous":
            return Client(), None
        if persona == "unverified":
            user = request.getfixturevalue("agent")
            TOTPDeviceFactory(user=user)
            client = Client()
            client.force_login(user)
            return client, user
        user = request.getfixturevalue(persona)
        return verified_client(user), user

    return make


def _snapshot(world: World) -> tuple:
    ticket = type(world.ticket).objects.get(pk=world.ticket.pk)
    reassignment = AccountReassignment.objects.get(pk=world.reassignment.pk)
    return (
        ticket.version,
        ticket.assignee_id,
        ticket.status,
        ticket.events.count(),
        ticket.messages.count(),
        ticket.siret_verifications.count(),
        reassignment.state,
        AccountReassignment.objects.count(),
        PersonalToken.objects.get(pk=world.token.pk).revoked_at,
        ticket.documents.filter(status="rejected").count(),
        ticket.followup_links.filter(revoked_at__isnull=True).count(),
    )


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
        if response.get("Content-Type", "").startswith(("image/", "application/pdf")):
            return f"<{len(content)} bytes of {response['Content-Type']}>"
        return content.decode("utf-8", "replace")
    content = response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        return " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
    return content.decode("utf-8", "replace")


def _call(client, case: Case, world: World, *, api_call: bool):
    url = case.url(world)
    data = case.data(world) if case.data else {}
    if case.method == "get":
        return client.get(url)
    if api_call:
        return client.post(url, data=json.dumps(data), content_type="application/json")
    return client.post(url, data)


def _check(persona, case: Case, world: World, response, before, *, api_call: bool):
    body = _body(response)
    assert response.status_code < 500, body[:500]
    assert "!!MISSING" not in body.replace("!!MISSING field.field.widget.group_class!!", "")
    if persona == "anonymous":
        if api_call:
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("backoffice:login"))
        assert _snapshot(world) == before
        return
    if persona == "unverified":
        if api_call:
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("backoffice:otp_verify"))
        assert _snapshot(world) == before
        return
    outsider = persona == "other_agent"
    if case.scope == "supervisor":
        if persona in ("agent", "other_agent"):
            assert response.status_code == 403
            assert _snapshot(world) == before
        else:
            assert response.status_code in case.ok
        return
    if case.scope == "queue" and outsider:
        assert response.status_code in case.outsider, body[:300]
        assert _snapshot(world) == before
    else:
        expected = case.refusals.get(persona, case.ok)
        assert response.status_code in expected, (response.status_code, body[:300])
    if outsider:
        # Nothing of the Habilitation queue's objects reaches an agent of another queue.
        for secret in (REFERENCE, IDENTIFIANT, HOLDER_EMAIL):
            assert secret not in body
        # Nor the queue itself, in the navigation or the API's counts.
        assert "/backoffice/files/habilitation/" not in body
        assert '"slug": "habilitation"' not in body
        if case.scope in ("queue", "list"):
            assert _snapshot(world)[:8] == before[:8]


def _personas_cases(cases: dict) -> list:
    return [(persona, key) for key in cases for persona in PERSONAS]


@pytest.mark.parametrize(
    "persona, name", _personas_cases(ROUTES), ids=[f"{n}-{p}" for p, n in _personas_cases(ROUTES)]
)
def test_backoffice_route(client_for, world, persona, name):
    case = ROUTES[name]
    client, user = client_for(persona)
    world.user = user
    before = _snapshot(world)
    response = _call(client, case, world, api_call=False)
    _check(persona, case, world, response, before, api_call=False)


@pytest.mark.parametrize(
    "persona, key",
    _personas_cases(OPERATIONS),
    ids=[f"{k[0]} {k[1]}-{p}" for p, k in _personas_cases(OPERATIONS)],
)
def test_api_operation(client_for, world, persona, key):
    case = OPERATIONS[key]
    client, user = client_for(persona)
    world.user = user
    before = _snapshot(world)
    response = _call(client, case, world, api_call=True)
    _check(persona, case, world, response, before, api_call=True)
