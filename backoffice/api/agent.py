"""The agent API (``/api/v1/…``): the back-office's ticket operations for scripts and
tools. Authenticated by the back-office session (CSRF-checked, second factor verified) or
by a personal token (``Authorization: Bearer …``) of a user with a confirmed second
factor. Same selectors, filters and services as the pages, so the same permission checks;
domain exceptions become 403/404/409 in ``backoffice.api``."""

from __future__ import annotations

from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from accounts.extranet.selectors import establishment_card
from accounts.staff.auth import AgentSessionAuth, PersonalTokenAuth
from accounts.staff.models import User
from tickets import selectors
from tickets.exceptions import TicketNotFound
from tickets.models import OPEN_STATUSES, Ticket
from tickets.presenters import describe_event
from tickets.schemas import MotifValue, ValidationErrorOut
from tickets.services import (
    ticket_assign,
    ticket_change_status,
    ticket_claim,
    ticket_note_add,
    ticket_reply,
    ticket_take_next,
)
from worker.text import Line

from ..filters import TicketFilter
from .agent_schemas import (
    AssignIn,
    ErrorOut,
    MessageCreatedOut,
    NoteIn,
    QueueCountsOut,
    ReplyIn,
    StatusIn,
    StatusValue,
    TicketDetailOut,
    TicketOut,
    TicketPageOut,
)

router = Router(tags=["Agents"], auth=[PersonalTokenAuth(), AgentSessionAuth()])

# Malformed JSON (400) and invalid values (422, French messages per field) are answered
# by the handlers in backoffice/api.py, for every operation.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ValidationErrorOut,
}


SortValue = Literal[
    "created_at",
    "-created_at",
    "priority",
    "-priority",
    "updated_at",
    "-updated_at",
    "reference",
    "-reference",
]
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
# What a cursor is: base64url of a JSON list, without padding (see tickets.selectors).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


class TicketListParams(Schema):
    scope: Literal["queue", "mine", "unassigned"] = Field(
        default="queue",
        description="`queue` (avec `queue`), `mine` (mes tickets) ou `unassigned`.",
    )
    queue: str | None = Field(
        default=None,
        pattern=SLUG_PATTERN,
        max_length=50,
        description="Identifiant (slug) de la file.",
    )
    status: list[StatusValue] = Field(default=[], description="Statuts (défaut : ouverts).")
    motif: list[MotifValue] = Field(default=[])
    assignee: str | None = Field(
        default=None,
        pattern=r"^(me|none|[1-9][0-9]{0,9})$",
        description="`me`, `none` ou un id d'agent.",
    )
    age: Literal["lt1d", "1to3d", "3to7d", "gt7d"] | None = Field(
        default=None, description="`lt1d`, `1to3d`, `3to7d`, `gt7d`."
    )
    sla: Literal["late", "on_time"] | None = Field(default=None, description="`late` ou `on_time`.")
    siret: Annotated[Line, Field(max_length=30)] | None = None
    requester: Annotated[Line, Field(max_length=254)] | None = None
    q: Annotated[Line, Field(max_length=200)] | None = Field(
        default=None, description="Recherche libre."
    )
    sort: SortValue | None = Field(
        default=None,
        description="`created_at`, `priority`, `updated_at`, `reference`; `-` pour décroissant.",
    )
    after: str | None = Field(default=None, pattern=CURSOR_PATTERN, max_length=500)
    before: str | None = Field(default=None, pattern=CURSOR_PATTERN, max_length=500)


def ticket_out(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "queue": ticket.queue.slug,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "priority": ticket.priority,
        "motif": ticket.motif,
        "siret": ticket.siret,
        "denomination": ticket.denomination,
        "requester_name": ticket.requester_name,
        "email": ticket.email,
        "assignee": (
            {"id": ticket.assignee.pk, "name": str(ticket.assignee)} if ticket.assignee else None
        ),
        "version": ticket.version,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_response_at": ticket.first_response_at,
        "sla_first_response_due": ticket.sla_first_response_due,
        "sla_resolution_due": ticket.sla_resolution_due,
    }


@router.get(
    "/tickets",
    response={200: TicketPageOut, **ERRORS},
    summary="Lister les tickets (filtres des files, pagination par curseur)",
)
def tickets_list(request, params: Query[TicketListParams]):
    user = request.user
    queue = None
    if params.scope == selectors.SCOPE_QUEUE:
        if not params.queue:
            raise TicketNotFound(_("Précisez la file (`queue`)."))
        queue = selectors.queue_get_for_user(user=user, slug=params.queue)
    elif params.scope not in (selectors.SCOPE_MINE, selectors.SCOPE_UNASSIGNED):
        raise TicketNotFound(_("Périmètre inconnu."))
    base = selectors.ticket_list_qs(user=user, scope=params.scope, queue=queue)
    filterset = TicketFilter(request.GET, queryset=base, request=request)
    if not filterset.is_valid():
        if set(filterset.form.errors) == {"assignee"}:
            # A well-formed id of an agent the caller cannot assign: like an unknown
            # queue, it does not exist for them.
            raise TicketNotFound(_("Cet agent n'existe pas."))
        from ninja.errors import ValidationError

        raise ValidationError(
            [
                {"loc": ("query", field), "msg": str(message), "type": "filter_error"}
                for field, messages in filterset.form.errors.items()
                for message in messages
            ]
        )
    qs = filterset.qs
    page = selectors.ticket_page(qs, sort=params.sort, after=params.after, before=params.before)
    count, more = selectors.capped_count(qs)
    return {
        "items": [ticket_out(t) for t in page.rows],
        "count": count,
        "count_is_capped": more,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.get(
    "/tickets/{ticket_id}",
    response={200: TicketDetailOut, **ERRORS},
    summary="Détail d'un ticket (fiche établissement, historique, messages)",
)
def ticket_detail(request, ticket_id: int):
    user = request.user
    ticket = selectors.ticket_get_for_user(user=user, ticket_id=ticket_id)
    card = establishment_card(user=user, ticket=ticket)
    events = selectors.ticket_timeline(ticket=ticket)
    messages = selectors.ticket_messages(ticket=ticket)
    return {
        **ticket_out(ticket),
        "phone": ticket.phone,
        "description": ticket.description,
        "allowed_transitions": sorted(ticket.allowed_transitions()),
        "establishment": {
            "siret": card.siret,
            "known_to_extranet": card.establishment is not None,
            "denomination": card.establishment.denomination if card.establishment else None,
            "registry_status": card.registry.administrative_status if card.registry else None,
            "registry_denomination": card.registry.denomination if card.registry else None,
            "account_identifiant": card.account.identifiant if card.account else None,
            "account_holder_name": card.account.holder_name if card.account else None,
            "account_holder_email": card.account.holder_email if card.account else None,
            "earlier_tickets": [
                {
                    "id": t.pk,
                    "reference": t.reference,
                    "motif": t.motif,
                    "status": t.status,
                    "created_at": t.created_at,
                }
                for t in card.earlier_tickets
            ],
        },
        "events": [
            {
                "kind": e.kind,
                "label": describe_event(e),
                "actor": str(e.actor) if e.actor else None,
                "data": e.data,
                "created_at": e.created_at,
            }
            for e in events
        ],
        "messages": [
            {
                "id": m.pk,
                "kind": m.kind,
                "author": str(m.author) if m.author else None,
                "body": m.body,
                "created_at": m.created_at,
            }
            for m in messages
        ],
    }


def _visible(request, ticket_id: int) -> Ticket:
    return selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)


def _reload(request, ticket_id: int) -> dict:
    return ticket_out(_visible(request, ticket_id))


@router.post(
    "/tickets/{ticket_id}/claim",
    response={200: TicketOut, **ERRORS},
    summary="Prendre un ticket non assigné",
)
def ticket_claim_op(
    request,
    ticket_id: int,
    version: int | None = Query(
        None, description="Version du ticket lue par l'agent (refus 409 si périmée)."
    ),
):
    ticket = _visible(request, ticket_id)
    ticket_claim(ticket=ticket, actor=request.user, expected_version=version)
    return _reload(request, ticket_id)


@router.post(
    "/queues/{slug}/take-next",
    response={200: TicketOut, **ERRORS},
    summary="Prendre le ticket suivant d'une file",
    description="Le ticket non assigné le plus prioritaire puis le plus ancien ; "
    "deux agents qui demandent en même temps reçoivent deux tickets différents.",
)
def queue_take_next(request, slug: str = Path(..., pattern=SLUG_PATTERN, max_length=50)):
    queue = selectors.queue_get_for_user(user=request.user, slug=slug)
    ticket = ticket_take_next(queue=queue, actor=request.user)
    return _reload(request, ticket.pk)


@router.post(
    "/tickets/{ticket_id}/assign",
    response={200: TicketOut, **ERRORS},
    summary="Assigner ou désassigner un ticket",
)
def ticket_assign_op(request, ticket_id: int, payload: AssignIn):
    ticket = _visible(request, ticket_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id).first()
        if assignee is None:
            raise TicketNotFound(_("Cet agent n'existe pas."))
    ticket_assign(
        ticket=ticket, actor=request.user, assignee=assignee, expected_version=payload.version
    )
    return _reload(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/status",
    response={200: TicketOut, **ERRORS},
    summary="Changer le statut d'un ticket (selon le cycle de vie)",
)
def ticket_status_op(request, ticket_id: int, payload: StatusIn):
    ticket = _visible(request, ticket_id)
    ticket_change_status(
        ticket=ticket,
        actor=request.user,
        new_status=payload.status,
        expected_version=payload.version,
    )
    return _reload(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/notes",
    response={201: MessageCreatedOut, **ERRORS},
    summary="Ajouter une note interne",
)
def ticket_note_op(request, ticket_id: int, payload: NoteIn):
    ticket = _visible(request, ticket_id)
    message = ticket_note_add(ticket=ticket, actor=request.user, body=payload.body)
    return Status(201, {"id": message.pk, "ticket_version": _visible(request, ticket_id).version})


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: MessageCreatedOut, **ERRORS},
    summary="Répondre au demandeur (envoyé par courriel)",
)
def ticket_reply_op(request, ticket_id: int, payload: ReplyIn):
    ticket = _visible(request, ticket_id)
    message = ticket_reply(
        ticket=ticket, actor=request.user, body=payload.body, expected_version=payload.version
    )
    return Status(201, {"id": message.pk, "ticket_version": _visible(request, ticket_id).version})


@router.get(
    "/queues",
    response={200: QueueCountsOut, **ERRORS},
    summary="Mes files et leurs nombres de tickets ouverts",
)
def queues_counts(request):
    user = request.user
    counts = selectors.queue_counts(user=user)
    queues = []
    for queue in selectors.queues_for_user(user):
        total, more = counts.queue_total(queue.pk)
        queues.append(
            {
                "slug": queue.slug,
                "name": queue.name,
                "open": total,
                "open_is_capped": more,
                "by_status": {
                    str(status): counts.by_queue_status.get((queue.pk, status), (0, False))[0]
                    for status in OPEN_STATUSES
                },
            }
        )
    return {
        "queues": queues,
        "mine": counts.mine[0],
        "unassigned": counts.unassigned[0],
        "cap": selectors.COUNT_CAP,
    }


__all__ = ["router"]
