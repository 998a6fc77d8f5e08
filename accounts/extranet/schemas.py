"""Schemas of the agents' reassignment API. None of them carries a password or a token:
agents never see or set one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field

from tickets.schemas import EmailValue, PhoneValue
from worker.text import RequiredLine, RequiredText, Text


class ReassignmentPrepareIn(Schema):
    new_holder_last_name: Annotated[RequiredLine, Field(max_length=100)] = Field(
        description="Nom du nouveau titulaire."
    )
    new_holder_first_name: Annotated[RequiredLine, Field(max_length=100)] = Field(
        description="Prénom du nouveau titulaire."
    )
    new_holder_email: EmailValue
    new_holder_phone: PhoneValue
    evidence_notes: Annotated[RequiredText, Field(max_length=5000)] = Field(
        description="Éléments vérifiés par l'agent."
    )
    checked_documents: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        default_factory=list,
        max_length=50,
        description="Identifiants des documents du demandeur que l'agent a contrôlés.",
    )


class ReassignmentDecisionIn(Schema):
    comment: Annotated[Text, Field(max_length=2000)] = ""


class ReassignmentApproveIn(Schema):
    file_version: Annotated[Text, Field(max_length=100)] = Field(
        description=(
            "La version du dossier lue par le superviseur (« file_version » de GET "
            "/reassignments/{id}) : refusée (409) si le dossier a changé depuis."
        )
    )
    acknowledgements: dict[str, Annotated[Text, Field(max_length=2000)]] = Field(
        default_factory=dict,
        description="Pour chaque signal de risque (code), la prise en compte écrite.",
    )
    comment: Annotated[Text, Field(max_length=2000)] = ""


class RiskSignalOut(Schema):
    code: str
    label: str
    explanation: str


class ReassignmentOut(Schema):
    id: int
    ticket_reference: str
    siret: str
    account_identifiant: str
    state: str
    new_holder_name: str
    new_holder_email: str
    prepared_by: str
    prepared_at: datetime
    approved_by: str | None = None
    apply_after: datetime | None = None
    repeated_within_window: bool = Field(
        description="Une autre réattribution sur ce SIRET ces 90 derniers jours."
    )
    denomination: str = ""
    name_match: str = Field(
        default="", description="exact, close, different ou unknown (vérification du SIRET)."
    )
    flag_reason: str = ""
    signals: list[RiskSignalOut] = Field(default_factory=list)


class VerificationOut(Schema):
    verdict: str
    comment: str
    name_justification: str
    actor: str
    created_at: datetime
    checks: dict


class RegistryOut(Schema):
    administrative_status: str
    denomination: str
    address: list[str]
    started_on: date | None = None


class DocumentOut(Schema):
    id: int
    kind: str
    name: str
    status: str
    created_at: datetime
    checked_by: str | None = None
    checked_at: datetime | None = None


class HolderChangeOut(Schema):
    changed_at: datetime
    previous_name: str
    previous_email: str
    new_name: str
    new_email: str


class PreviousRequestOut(Schema):
    reference: str
    motif: str
    status: str
    created_at: datetime
    email: str


class ApprovalOut(Schema):
    approver: str
    approved_at: datetime
    acknowledgements: dict[str, str]


class ReassignmentFileOut(ReassignmentOut):
    file_version: str
    requester_name: str
    requester_email: str
    requester_phone: str
    previous_holder_name: str
    previous_holder_email: str
    new_holder_phone: str
    evidence_notes: str
    verification: VerificationOut | None = None
    registry: RegistryOut | None = None
    documents: list[DocumentOut]
    holder_history: list[HolderChangeOut]
    previous_requests: list[PreviousRequestOut]
    approvals: list[ApprovalOut]
    approvals_required: int


class ErrorOut(Schema):
    detail: str
