"""SIRET / SIREN validation, shared by the public form, the API and the registry import.

python-stdnum does the Luhn checks and knows the La Poste exception (SIREN 356000000,
whose establishments' SIRETs have a digit sum that is a multiple of 5). It accepts numbers
made only of zeros, which are not real identifiers: we reject those ourselves.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

# Separators people type or paste: spaces (also non-breaking and narrow ones) and dots.
_SEPARATORS = re.compile(r"[\s.\u00a0\u202f]+")

LA_POSTE_SIREN = "356000000"


def normalize_siret(value: str) -> str:
    """Drop the separators that people commonly type; nothing else is changed."""
    return _SEPARATORS.sub("", value or "")


def clean_siret(value: str) -> str:
    """Return the 14-digit SIRET or raise a ValidationError with a French message."""
    number = normalize_siret(value)
    if not number:
        raise ValidationError(_("Veuillez indiquer le numéro de SIRET."), code="required")
    if not number.isdigit():
        raise ValidationError(
            _("Le numéro de SIRET ne doit contenir que des chiffres."), code="not_digits"
        )
    if len(number) != 14:
        raise ValidationError(
            _("Le numéro de SIRET doit comporter 14 chiffres (%(count)d saisis).")
            % {"count": len(number)},
            code="length",
        )
    if set(number) == {"0"}:
        raise ValidationError(_("Ce numéro de SIRET n'existe pas."), code="zeros")
    if not stdnum_siret.is_valid(number):
        raise ValidationError(
            _("Le numéro de SIRET est invalide : vérifiez les chiffres saisis."),
            code="checksum",
        )
    return number


def clean_siren(value: str) -> str:
    number = normalize_siret(value)
    if not number.isdigit() or len(number) != 9 or set(number) == {"0"}:
        raise ValidationError(_("Le numéro SIREN doit comporter 9 chiffres."), code="invalid")
    if not stdnum_siren.is_valid(number):
        raise ValidationError(_("Le numéro SIREN est invalide."), code="checksum")
    return number


def validate_siret(value: str) -> None:
    """Model-field validator: the stored value must already be normalised and valid."""
    if clean_siret(value) != value:
        raise ValidationError(_("Le numéro de SIRET doit être enregistré sans séparateurs."))
