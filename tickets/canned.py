"""The placeholders of canned replies ("réponses types"), written once.

A canned reply's body may name the ticket's values between braces. ``{reference}``,
``{denomination}`` and ``{demandeur}`` are filled when an agent inserts the reply into the
reply box (the agent sees, and may edit, the final text). ``{lien_de_suivi}`` cannot be:
the follow-up link's token is drawn by the worker when the e-mail leaves
(``tickets.followup``), and exists nowhere else. It stays in the reply box as typed, and
the e-mail puts the requester's personal link in its place (``emails/ticket_reply_body``);
the stored message, which the requester also reads on the follow-up page, says where the
link went (``FOLLOWUP_IN_MESSAGE``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models import Ticket

FOLLOWUP_PLACEHOLDER = "{lien_de_suivi}"
# What the stored message (back-office, follow-up page) shows where the e-mail had the link.
FOLLOWUP_IN_MESSAGE = "[votre lien de suivi personnel, envoyé par courriel]"

# Name → what it stands for (shown to supervisors on the edit page).
PLACEHOLDERS: dict[str, str] = {
    "reference": "la référence du ticket (AP-2026-000123)",
    "denomination": "la dénomination de l'établissement déclarée par le demandeur",
    "demandeur": "le nom et prénom du demandeur",
    "lien_de_suivi": "le lien de suivi personnel du demandeur, ajouté au courriel envoyé",
}

_BRACES = re.compile(r"\{([^{}\n]{0,60})\}")


def placeholders_unknown(body: str) -> list[str]:
    """The ``{…}`` of ``body`` that are not placeholders, in order, once each."""
    unknown: list[str] = []
    for match in _BRACES.finditer(body or ""):
        if match.group(1) not in PLACEHOLDERS and match.group(0) not in unknown:
            unknown.append(match.group(0))
    return unknown


def placeholders_check(body: str) -> None:
    """Refuse a body that names an unknown placeholder (a typo would reach requesters)."""
    unknown = placeholders_unknown(body)
    if unknown:
        raise ValidationError(
            _("Champ inconnu : %(unknown)s. Champs possibles : %(known)s.")
            % {
                "unknown": ", ".join(unknown),
                "known": ", ".join("{" + name + "}" for name in PLACEHOLDERS),
            },
            code="unknown_placeholder",
        )


def canned_reply_fill(body: str, *, ticket: Ticket) -> str:
    """The text an agent gets in the reply box: the ticket's values in place of
    ``{reference}``, ``{denomination}`` and ``{demandeur}``; ``{lien_de_suivi}`` kept for
    the e-mail to fill. Plain text: the page's template escapes it, the e-mail is
    text/plain."""
    values = {
        "reference": ticket.reference,
        "denomination": ticket.denomination,
        "demandeur": ticket.requester_name,
    }

    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _BRACES.sub(replace, body)


def followup_placeholder_split(body: str) -> tuple[str, list[str] | None]:
    """For a reply about to be sent: the text to store (the placeholder replaced by
    ``FOLLOWUP_IN_MESSAGE``) and, when the body names the link, the parts of the e-mail's
    text around it (the e-mail template puts the link between them)."""
    if FOLLOWUP_PLACEHOLDER not in body:
        return body, None
    return body.replace(FOLLOWUP_PLACEHOLDER, FOLLOWUP_IN_MESSAGE), body.split(FOLLOWUP_PLACEHOLDER)
