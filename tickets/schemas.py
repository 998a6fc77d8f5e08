from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

MotifValue = Literal[
    "habilitation_extranet",
    "fiche_etablissement",
    "decision_autorisation",
    "demande_indemnisation",
    "certificat_signature",
    "autres",
]


class AssistanceRequestIn(Schema):
    siret: str = Field(description="N° de SIRET (14 chiffres; espaces et points acceptés).")
    denomination: str = Field(description="Dénomination de l'établissement.")
    requester_name: str = Field(description="Nom et prénom du demandeur.")
    phone: str = Field(description="N° de téléphone (France et outre-mer).")
    email: str = Field(description="Adresse électronique du demandeur.")
    motif: MotifValue
    description: str = Field(description="Description de la demande.")


class AssistanceRequestOut(Schema):
    reference: str = Field(examples=["AP-2026-000123"])
    queue: str = Field(description="Identifiant de la file qui traite la demande.")
    status: str
    created_at: datetime


class AssistanceRequestAttachedOut(AssistanceRequestOut):
    attached_to_existing: Literal[True] = True


class ValidationErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class ErrorOut(Schema):
    detail: str
