"""Reads on establishments and the registry: the SIRET checks an agent judges a request by
(checksum, registry row, state, declared vs registry name). Knows nothing of tickets: the
ticket side adds its own figures (``tickets.verification``)."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import AdministrativeStatus, RegistryEstablishment
from .validators import clean_siret

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


def siret_registry_checks(*, siret: str, declared_denomination: str) -> dict:
    """What the registry says of a SIRET and of the name a requester declared for it, as
    plain JSON values (stored with a verdict, returned by the API, rendered on the ticket
    page). One query: the registry row.

    ``warnings`` lists what an agent must look at, each a ``{"code", "message"}``.
    """
    try:
        clean_siret(siret)
        checksum_valid = True
    except ValidationError:
        checksum_valid = False
    registry = RegistryEstablishment.objects.filter(siret=siret).first()
    name_match, ratio = denomination_compare(
        declared_denomination, registry.denomination if registry else ""
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
    if name_match == NAME_CLOSE:
        warnings.append(
            _warning(
                "name_close",
                _(
                    "La dénomination déclarée est proche de celle du registre sans lui être "
                    "identique (similarité %(ratio)d %%)."
                )
                % {"ratio": round(ratio * 100)},
            )
        )
    elif name_match == NAME_DIFFERENT:
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

    return {
        "siret": siret,
        "checksum_valid": checksum_valid,
        "registry_found": registry is not None,
        "administrative_status": registry.administrative_status if registry else None,
        "registry_denomination": registry.denomination if registry else "",
        "registry_address": registry.address_lines if registry else [],
        "registry_started_on": (
            registry.started_on.isoformat() if registry and registry.started_on else None
        ),
        "declared_denomination": declared_denomination,
        "name_match": name_match,
        "name_similarity": ratio,
        "warnings": warnings,
    }


def warning_entry(code: str, message: str) -> dict:
    """One entry of a checks' ``warnings`` list."""
    return _warning(code, message)


def name_needs_justification(checks: dict) -> bool:
    """A "passed" verdict on these checks needs a written justification of the name: the
    declared name is not the registry's after normalisation (case, accents, punctuation,
    legal forms), or the registry row has no name."""
    return bool(checks.get("registry_found")) and checks.get("name_match") != NAME_EXACT


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


def registry_recheck(*, siret: str) -> tuple[RegistryEstablishment | None, str | None]:
    """The registry row of a SIRET as it is now, and why a guarded step must stop (French),
    or None: the establishment must still be known and active. One query."""
    registry = RegistryEstablishment.objects.filter(siret=siret).first()
    if registry is None:
        return None, _("L'établissement n'est plus connu du registre (base SIRENE).")
    if registry.administrative_status != AdministrativeStatus.ACTIVE:
        return registry, _(
            "L'établissement est désormais fermé dans le registre (état administratif « F »)."
        )
    return registry, None
