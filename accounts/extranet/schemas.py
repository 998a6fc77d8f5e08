"""Schemas of the agents' reassignment API. None of them carries a password or a token:
agents never see or set one."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


class ReassignmentPrepareIn(Schema):
    new_holder_last_name: str = Field(description="Nom du nouveau titulaire.")
    new_holder_first_name: str = Field(description="Prénom du nouveau titulaire.")
    new_holder_email: str = Field(description="Courriel du nouveau titulaire.")
    new_holder_phone: str = Field(description="Téléphone du nouveau titulaire.")
    evidence_notes: str = Field(description="Éléments vérifiés par l'agent.")


class ReassignmentDecisionIn(Schema):
    comment: str = ""


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
