"""Input and output schemas of the agent API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from tickets.schemas import MotifValue
from worker.text import RequiredText

StatusValue = Literal["nouveau", "en_cours", "en_attente", "resolu", "clos"]
# Basse, normale, haute, urgente (tickets.models.Priority).
PriorityValue = Literal[10, 20, 30, 40]


class PersonOut(Schema):
    id: int
    name: str


class TicketOut(Schema):
    id: int
    reference: str
    queue: str
    status: StatusValue
    status_label: str
    priority: PriorityValue
    motif: MotifValue
    siret: str
    denomination: str
    requester_name: str
    email: str
    assignee: PersonOut | None
    version: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    sla_first_response_due: datetime | None
    sla_resolution_due: datetime | None


class TicketPageOut(Schema):
    items: list[TicketOut]
    count: int = Field(description="Nombre de tickets correspondants, plafonné.")
    count_is_capped: bool = Field(description="Vrai si le nombre réel dépasse `count`.")
    next_cursor: str | None = Field(description="À passer en `after` pour la page suivante.")
    previous_cursor: str | None = Field(description="À passer en `before` pour la page précédente.")


class EventOut(Schema):
    kind: str
    label: str
    actor: str | None
    data: dict
    created_at: datetime


class MessageOut(Schema):
    id: int
    kind: str
    author: str | None
    body: str
    created_at: datetime


class EarlierTicketOut(Schema):
    id: int
    reference: str
    motif: MotifValue
    status: StatusValue
    created_at: datetime


class EstablishmentCardOut(Schema):
    siret: str
    known_to_extranet: bool
    denomination: str | None
    registry_status: Literal["A", "F"] | None = Field(
        description="État administratif au registre (A/F)."
    )
    registry_denomination: str | None
    account_identifiant: str | None
    account_holder_name: str | None
    account_holder_email: str | None
    earlier_tickets: list[EarlierTicketOut]


class TicketDetailOut(TicketOut):
    phone: str
    description: str
    allowed_transitions: list[StatusValue]
    establishment: EstablishmentCardOut
    events: list[EventOut]
    messages: list[MessageOut]


class VersionIn(Schema):
    version: int | None = Field(
        default=None, description="Version du ticket lue par l'agent (refus 409 si périmée)."
    )


class AssignIn(VersionIn):
    assignee_id: int | None = Field(description="Agent à qui assigner ; null pour désassigner.")


class StatusIn(VersionIn):
    status: StatusValue


class NoteIn(Schema):
    body: RequiredText


class ReplyIn(VersionIn):
    body: RequiredText


class MessageCreatedOut(Schema):
    id: int
    ticket_version: int


class QueueCountOut(Schema):
    slug: str
    name: str
    open: int
    open_is_capped: bool
    by_status: dict[str, int]


class QueueCountsOut(Schema):
    queues: list[QueueCountOut]
    mine: int
    unassigned: int
    cap: int


class ErrorOut(Schema):
    detail: str
