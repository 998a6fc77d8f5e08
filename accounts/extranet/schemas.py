"""Schemas of the agents' reassignment API. None of them carries a password or a token:
agents never see or set one."""

from __future__ import annotations

from datetime import datetime
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


class ReassignmentDecisionIn(Schema):
    comment: Annotated[Text, Field(max_length=2000)] = ""


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


class ErrorOut(Schema):
    detail: str
