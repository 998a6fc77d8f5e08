"""Reads on establishments and the registry, and the SIRET checks shown on a ticket."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import EventKind, SiretVerification, Ticket, TicketEvent

from .models import AdministrativeStatus, RegistryEstablishment
from .validators import clean_siret

# Other requests on the same SIRET within this many days are shown to the agent: repeated
# requests on one establishment were the mark of the 2020 fraud wave (DESIGN.md section 6).
RECENT_REQUESTS_DAYS = 30

# Legal forms are noise when comparing names ("Transports Martin SARL" is "TRANSPORTS
# MARTIN" in the registry). Compared after accents, case and punctuation are removed.
LEGAL_FORMS = frozenset(
    {
        "sa", "sas", "sasu", "sarl", "eurl", "sarlu", "snc", "scs", "sca", "sci", "scp",
        "scop", "scic", "sel", "selarl", "selas", "selafa", "selca", "sem", "gie", "gaec",
        "earl", "ei", "eirl", "micro", "entreprise", "individuelle", "societe", "ste", "cie",
    }
)  # fmt: skip
# Above this similarity ratio (difflib) two normalised names are "close".
CLOSE_RATIO = 0.85

NAME_EXACT = "exact"
NAME_CLOSE = "close"
NAME_DIFFERENT = "different"
NAME_UNKNOWN = "unknown"  # nothing to compare with: no registry row, or no name in it

_DOTTED_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def denomination_normalize(value: str) -> str:
    """Lower case, no accents, no punctuation, no legal form, single spaces; "&" is "et".

    >>> denomination_normalize("S.A.R.L. Hôtel  l'Étoile & Fils")
    'hotel l etoile et fils'
    """
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " et ")
    # "S.A.R.L." → "sarl" before punctuation turns it into single letters.
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    words = [w for w in _NOT_ALNUM.sub(" ", text).split() if w not in LEGAL_FORMS]
    return " ".join(words)


def denomination_compare(declared: str, registered: str) -> tuple[str, float]:
    """Compare what the requester declared with the registry's name: (verdict, ratio)."""
    a, b = denomination_normalize(declared), denomination_normalize(registered)
    if not a or not b:
        return NAME_UNKNOWN, 0.0
    if a == b:
        return NAME_EXACT, 1.0
    ratio = round(SequenceMatcher(None, a, b).ratio(), 2)
    if sorted(a.split()) == sorted(b.split()) or ratio >= CLOSE_RATIO:
        return NAME_CLOSE, ratio
    return NAME_DIFFERENT, ratio


def _warning(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def ticket_siret_checks(*, ticket: Ticket) -> dict:
    """Everything an agent needs to judge the SIRET of a ticket, as plain JSON values (it is
    stored with the verdict, returned by the API and rendered on the ticket page).

    Two queries: the registry row and the count of recent requests on the same SIRET.
    """
    try:
        clean_siret(ticket.siret)
        checksum_valid = True
    except ValidationError:
        checksum_valid = False
    registry = RegistryEstablishment.objects.filter(siret=ticket.siret).first()
    since = timezone.now() - timedelta(days=RECENT_REQUESTS_DAYS)
    recent = (
        Ticket.objects.filter(siret=ticket.siret, created_at__gte=since)
        .exclude(pk=ticket.pk)
        .count()
    )
    name_match, ratio = denomination_compare(
        ticket.denomination, registry.denomination if registry else ""
    )

    warnings = []
    if not checksum_valid:
        warnings.append(
            _warning("invalid_checksum", _("Le numéro de SIRET est invalide (clé de contrôle)."))
        )
    if registry is None:
        warnings.append(
            _warning(
                "unknown_siret",
                _("Ce SIRET est inconnu du registre des établissements (base SIRENE)."),
            )
        )
    elif registry.administrative_status == AdministrativeStatus.CLOSED:
        warnings.append(
            _warning("closed", _("L'établissement est fermé dans le registre (état « F »)."))
        )
    if name_match == NAME_DIFFERENT:
        warnings.append(
            _warning(
                "name_mismatch",
                _("La dénomination déclarée ne correspond pas à celle du registre."),
            )
        )
    elif registry is not None and name_match == NAME_UNKNOWN:
        warnings.append(
            _warning(
                "name_unverifiable",
                _("Le registre ne donne pas de dénomination pour cet établissement."),
            )
        )
    if recent:
        warnings.append(
            _warning(
                "recent_requests",
                _("%(count)d autre(s) demande(s) sur ce SIRET ces %(days)d derniers jours.")
                % {"count": recent, "days": RECENT_REQUESTS_DAYS},
            )
        )

    return {
        "siret": ticket.siret,
        "checksum_valid": checksum_valid,
        "registry_found": registry is not None,
        "administrative_status": registry.administrative_status if registry else None,
        "registry_denomination": registry.denomination if registry else "",
        "registry_address": registry.address_lines if registry else [],
        "registry_started_on": (
            registry.started_on.isoformat() if registry and registry.started_on else None
        ),
        "declared_denomination": ticket.denomination,
        "name_match": name_match,
        "name_similarity": ratio,
        "recent_requests": recent,
        "recent_requests_days": RECENT_REQUESTS_DAYS,
        "warnings": warnings,
    }


def siret_passed_refusal(checks: dict) -> str | None:
    """Why a "passed" verdict cannot be given on these checks (French), or None.

    A SIRET is public, so knowing one proves nothing: "passed" needs a valid number known
    to the registry, an active establishment, and a declared name that is not plainly
    another one (DESIGN.md section 6).
    """
    if not checks["checksum_valid"]:
        return _("Un SIRET invalide ne peut pas être déclaré conforme.")
    if not checks["registry_found"]:
        return _("Un SIRET inconnu du registre ne peut pas être déclaré conforme.")
    if checks["administrative_status"] != AdministrativeStatus.ACTIVE:
        return _("Un établissement fermé ne peut pas être déclaré conforme.")
    if checks["name_match"] == NAME_DIFFERENT:
        return _(
            "La dénomination déclarée ne correspond pas au registre : le SIRET ne peut pas "
            "être déclaré conforme."
        )
    return None


def ticket_siret_verification_latest_event(ticket: Ticket) -> TicketEvent | None:
    return (
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SIRET_VERIFIED)
        .order_by("-created_at", "-id")
        .first()
    )


def ticket_siret_verification_passed(ticket: Ticket) -> bool:
    """The contract the reassignment workflow relies on: the LATEST ``SIRET_VERIFIED``
    event of the ticket has ``data["verdict"] == "passed"``. A later "failed" or
    "inconclusive" verdict withdraws an earlier "passed"."""
    event = ticket_siret_verification_latest_event(ticket)
    return event is not None and event.data.get("verdict") == "passed"


def ticket_siret_verifications(ticket: Ticket):
    """The verdicts recorded on a ticket, newest first, with their author."""
    return (
        SiretVerification.objects.filter(ticket=ticket)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def ticket_for_siret_verification(*, actor, ticket_id: int) -> Ticket | None:
    """The ticket if ``actor`` may work on it: supervisors and admins see every queue,
    agents only their queues' tickets. None otherwise, so that callers answer 404 and never
    reveal whether a ticket of another queue exists.

    The back-office's own scoped ticket selector replaces this one when both exist.
    """
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return None
    tickets = Ticket.objects.select_related("queue")
    if not actor.is_supervisor:
        tickets = tickets.filter(queue__members=actor)
    return tickets.filter(pk=ticket_id).first()
