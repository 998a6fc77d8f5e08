from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from worker.text import RequiredLine, RequiredText, Text

MotifValue = Literal[
    "habilitation_extranet",
    "fiche_etablissement",
    "decision_autorisation",
    "demande_indemnisation",
    "certificat_signature",
    "autres",
]


# What the schema can say of a SIRET and a phone number; their checksum and numbering
# plan are checked by the service (422 on the field, French message).
SiretValue = Annotated[
    str,
    Field(
        min_length=14,
        max_length=30,
        pattern=r"^[0-9][0-9 .]*[0-9]$",
        description="N° de SIRET : 14 chiffres avec une clé de contrôle valide (espaces et "
        "points acceptés).",
        examples=["73282932000074"],
    ),
]
PhoneValue = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30,
        pattern=r"^[+0-9][0-9 .()-]*$",
        description="N° de téléphone (France et outre-mer), par exemple 01 02 03 04 05.",
        examples=["01 02 03 04 05"],
    ),
]
EmailValue = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        json_schema_extra={"format": "email"},
        description="Adresse électronique.",
        examples=["prenom.nom@exemple.fr"],
    ),
]


class AssistanceRequestIn(Schema):
    siret: SiretValue
    denomination: Annotated[RequiredLine, Field(max_length=200)] = Field(
        description="Dénomination de l'établissement."
    )
    requester_name: Annotated[RequiredLine, Field(max_length=200)] = Field(
        description="Nom et prénom du demandeur."
    )
    phone: PhoneValue
    email: EmailValue
    motif: MotifValue
    description: Annotated[RequiredText, Field(max_length=5000)] = Field(
        description="Description de la demande."
    )


class AssistanceRequestOut(Schema):
    reference: str = Field(examples=["AP-2026-000123"])
    queue: str = Field(description="Identifiant de la file qui traite la demande.")
    status: Literal["nouveau", "en_cours", "en_attente", "resolu", "clos"]
    created_at: datetime


class AssistanceRequestAttachedOut(AssistanceRequestOut):
    attached_to_existing: Literal[True] = True


class ValidationErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class ErrorOut(Schema):
    detail: str


# --- SIRET verification ------------------------------------------------------------------

VerdictValue = Literal["passed", "failed", "inconclusive"]


class SiretWarningOut(Schema):
    code: Literal[
        "invalid_checksum",
        "unknown_siret",
        "closed",
        "name_mismatch",
        "name_unverifiable",
        "recent_requests",
    ]
    message: str


class SiretChecksOut(Schema):
    siret: str
    checksum_valid: bool = Field(description="Clé de contrôle (Luhn, exception La Poste).")
    registry_found: bool = Field(description="Présent dans le registre SIRENE importé.")
    administrative_status: Literal["A", "F"] | None = Field(
        description="État administratif au registre : A (actif) ou F (fermé)."
    )
    registry_denomination: str
    registry_address: list[str]
    registry_started_on: str | None
    declared_denomination: str = Field(description="Dénomination saisie par le demandeur.")
    name_match: Literal["exact", "close", "different", "unknown"] = Field(
        description=(
            "Comparaison des dénominations, sans casse, accents, ponctuation ni forme "
            "juridique (SARL, SAS, EURL, SA…)."
        )
    )
    name_similarity: float
    recent_requests: int = Field(
        description=(
            "Autres demandes sur ce SIRET pendant les `recent_requests_days` derniers jours."
        )
    )
    recent_requests_days: int
    warnings: list[SiretWarningOut]


class SiretVerificationIn(Schema):
    verdict: VerdictValue = Field(
        description="passed (conforme), failed (non conforme), inconclusive (non concluant)."
    )
    comment: Annotated[RequiredText, Field(max_length=4000)] = Field(
        description="Ce que l'agent a vérifié (obligatoire)."
    )
    name_justification: Annotated[Text, Field(max_length=4000)] = Field(
        default="",
        description=(
            "Obligatoire avec « passed » quand la dénomination déclarée n'est pas celle du "
            "registre après normalisation, ou que le registre n'en donne pas."
        ),
    )


class SiretVerificationOut(Schema):
    id: int
    ticket_id: int
    verdict: VerdictValue
    comment: str
    name_justification: str
    actor_id: int
    created_at: datetime
    checks: SiretChecksOut


class DetailOut(Schema):
    detail: str


class RefusalOut(Schema):
    detail: str
    errors: dict[str, list[str]]


# --- Documents sent through the API ----------------------------------------------------------

DocumentKindValue = Literal["kbis", "mandate", "identity", "other"]


class DocumentOut(Schema):
    id: int
    name: str = Field(description="Nom du fichier, nettoyé (extension du type réel).")
    kind: DocumentKindValue
    content_type: Literal["application/pdf", "image/jpeg", "image/png"] = Field(
        description="Type lu dans le contenu du fichier."
    )
    size: int = Field(description="Taille en octets.")
    sha256: str
    created_at: datetime


class DocumentUploadOut(Schema):
    reference: str
    status: Literal["nouveau", "en_cours", "en_attente", "resolu", "clos"] = Field(
        description="Statut de la demande après réception du document."
    )
    document: DocumentOut
