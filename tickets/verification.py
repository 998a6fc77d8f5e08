"""The SIRET verification of a ticket: the checks an agent judges by, the verdict they
record, and the one function the reassignment workflow relies on.

A SIRET is public: knowing one proves nothing. The registry side of the checks
(checksum, registry row, administrative state, declared vs registry name) comes from
``establishments.selectors``; this module adds what only tickets know (other recent
requests on the same SIRET) and owns the ``SiretVerification`` rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from establishments.selectors import (
    name_needs_justification,
    siret_passed_refusal,
    siret_registry_checks,
    warning_entry,
)

from .access import ticket_lock_for
from .exceptions import SiretVerificationRefused
from .models import EventKind, SiretVerdict, SiretVerification, Status, Ticket
from .services.events import ticket_event_record

if TYPE_CHECKING:
    from accounts.staff.models import User

# Other requests on the same SIRET within this many days are shown to the agent: repeated
# requests on one establishment were the mark of the 2020 fraud wave (DESIGN.md section 6).
RECENT_REQUESTS_DAYS = 30


def ticket_siret_checks(*, ticket: Ticket) -> dict:
    """Everything an agent needs to judge the SIRET of a ticket, as plain JSON values (it is
    stored with the verdict, returned by the API and rendered on the ticket page).

    Two queries: the registry row and the count of recent requests on the same SIRET.
    """
    checks = siret_registry_checks(siret=ticket.siret, declared_denomination=ticket.denomination)
    since = timezone.now() - timedelta(days=RECENT_REQUESTS_DAYS)
    recent = (
        Ticket.objects.filter(siret=ticket.siret, created_at__gte=since)
        .exclude(pk=ticket.pk)
        .count()
    )
    if recent:
        checks["warnings"].append(
            warning_entry(
                "recent_requests",
                _("%(count)d autre(s) demande(s) sur ce SIRET ces %(days)d derniers jours.")
                % {"count": recent, "days": RECENT_REQUESTS_DAYS},
            )
        )
    checks["recent_requests"] = recent
    checks["recent_requests_days"] = RECENT_REQUESTS_DAYS
    return checks


def ticket_siret_verify(
    *, ticket: Ticket, actor: User, verdict: str, comment: str, name_justification: str = ""
) -> SiretVerification:
    """Record an agent's verdict on the SIRET of a ticket.

    The checks are recomputed here, inside the transaction, from the registry as it is now:
    never taken from what the agent's page showed. They are stored on the
    ``SiretVerification`` row and in a ``SIRET_VERIFIED`` timeline event whose data is
    ``{"verdict", "comment", "checks"}``. The latest row is the ticket's verdict
    (``ticket_siret_verification_passed``).
    """
    if verdict not in SiretVerdict.values:
        raise SiretVerificationRefused(
            _("Choisissez un verdict : conforme, non conforme ou non concluant.")
        )
    comment = (comment or "").strip()
    name_justification = (name_justification or "").strip()
    if not comment:
        raise SiretVerificationRefused(
            _("Un commentaire est obligatoire : indiquez ce que vous avez vérifié."),
            field="comment",
        )
    with transaction.atomic():
        # The row lock orders concurrent verdicts on one ticket, so the latest row is also
        # the latest decision.
        locked = ticket_lock_for(actor, pk=ticket.pk)
        if locked.status == Status.CLOS:
            raise SiretVerificationRefused(_("Ce ticket est clos : il ne peut plus être modifié."))
        checks = ticket_siret_checks(ticket=locked)
        if verdict == SiretVerdict.PASSED:
            refusal = siret_passed_refusal(checks)
            if refusal:
                raise SiretVerificationRefused(refusal)
            if name_needs_justification(checks) and not name_justification:
                raise SiretVerificationRefused(
                    _(
                        "La dénomination déclarée n'est pas exactement celle du registre (ou le "
                        "registre n'en donne pas) : justifiez par écrit pourquoi c'est bien cet "
                        "établissement."
                    ),
                    field="name_justification",
                )
        verification = SiretVerification.objects.create(
            ticket=locked,
            actor=actor,
            verdict=verdict,
            comment=comment,
            name_justification=name_justification,
            checks=checks,
            created_at=timezone.now(),
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.SIRET_VERIFIED,
            actor=actor,
            data={
                "verdict": verdict,
                "comment": comment,
                **({"name_justification": name_justification} if name_justification else {}),
                "checks": checks,
            },
        )
    return verification


def ticket_siret_verification_latest(ticket: Ticket) -> SiretVerification | None:
    return (
        SiretVerification.objects.filter(ticket_id=ticket.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )


def ticket_siret_verification_passed(ticket: Ticket) -> bool:
    """The contract the reassignment workflow relies on: the ticket's LATEST verification
    says "passed". A later "failed" or "inconclusive" verdict withdraws an earlier
    "passed". Read from the typed ``SiretVerification`` rows."""
    latest = ticket_siret_verification_latest(ticket)
    return latest is not None and latest.verdict == SiretVerdict.PASSED


def ticket_siret_verifications(ticket: Ticket) -> QuerySet[SiretVerification]:
    """The verdicts recorded on a ticket, newest first, with their author."""
    return (
        SiretVerification.objects.filter(ticket_id=ticket.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
