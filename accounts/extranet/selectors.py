"""Reads on extranet accounts, their links and their reassignments, scoped to the actor by
the access rule (``tickets.access``): a reassignment is visible to whoever may see its
ticket; outside one's queues it does not exist (None / 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from establishments.models import Establishment, RegistryEstablishment
from tickets import access
from tickets.models import Ticket

from .models import (
    OPEN_REASSIGNMENT_STATES,
    AccountReassignment,
    ExtranetAccount,
    ExtranetHolderHistory,
    ReassignmentState,
    RecoveryLink,
)

if TYPE_CHECKING:
    from accounts.staff.models import User

RECOVERY_LINKS_SHOWN = 20


def recovery_links_for_establishment(
    establishment: Establishment, *, limit: int = RECOVERY_LINKS_SHOWN
) -> list[RecoveryLink]:
    """The latest recovery / activation links of the establishment's accounts, newest
    first, for the establishment card (S7: sends, send failures, uses, expiries). Each
    link has ``state`` / ``state_label``; never a token."""
    return list(
        RecoveryLink.objects.filter(account__establishment=establishment)
        .select_related("account", "email", "created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def reassignments_visible(*, actor: User) -> QuerySet[AccountReassignment]:
    """The reassignments whose ticket ``actor`` may see."""
    return access.scope(AccountReassignment.objects.all(), actor)


def reassignment_for(*, actor: User, pk: int) -> AccountReassignment | None:
    """One reassignment with what its pages show, if ``actor`` may see its ticket."""
    return (
        reassignments_visible(actor=actor)
        .select_related(
            "ticket",
            "ticket__queue",
            "account__establishment",
            "prepared_by",
            "approved_by",
            "rejected_by",
            "cancelled_by",
        )
        .filter(pk=pk)
        .first()
    )


def reassignments_pending(*, actor: User) -> QuerySet[AccountReassignment]:
    """The approval queue: changes waiting for a decision, then those waiting for their
    objection period, oldest first."""
    return (
        reassignments_visible(actor=actor)
        .filter(state__in=OPEN_REASSIGNMENT_STATES)
        .select_related("ticket", "account__establishment", "prepared_by", "approved_by")
        .order_by("state", "prepared_at", "id")
    )


def reassignments_open_counts(*, actor: User) -> dict[str, int]:
    """How many reassignments wait for a supervisor's approval (``prepared``) and how many
    wait for the end of their objection period (``approved``): one query."""
    counts = (
        reassignments_visible(actor=actor)
        .filter(state__in=OPEN_REASSIGNMENT_STATES)
        .aggregate(
            prepared=Count("id", filter=Q(state=ReassignmentState.PREPARED)),
            approved=Count("id", filter=Q(state=ReassignmentState.APPROVED)),
        )
    )
    return {"prepared": counts["prepared"], "approved": counts["approved"]}


def reassignments_recent(*, actor: User, limit: int = 50) -> QuerySet[AccountReassignment]:
    return (
        reassignments_visible(actor=actor)
        .exclude(state__in=OPEN_REASSIGNMENT_STATES)
        .select_related(
            "ticket", "account__establishment", "prepared_by", "approved_by", "rejected_by"
        )
        .order_by("-prepared_at", "-id")[:limit]
    )


def reassignments_for_ticket(*, ticket: Ticket) -> QuerySet[AccountReassignment]:
    return ticket.reassignments.select_related("prepared_by", "approved_by").order_by(
        "-prepared_at"
    )


def other_reassignments_of_establishment(
    *, actor: User, reassignment: AccountReassignment
) -> QuerySet[AccountReassignment]:
    return (
        reassignments_visible(actor=actor)
        .filter(account__establishment_id=reassignment.account.establishment_id)
        .exclude(pk=reassignment.pk)
        .select_related("ticket")
        .order_by("-prepared_at")[:10]
    )


def holder_history(*, account: ExtranetAccount) -> QuerySet[ExtranetHolderHistory]:
    return account.holder_history.all()


def can_decide(*, reassignment: AccountReassignment, user: User) -> bool:
    return (
        reassignment.state == ReassignmentState.PREPARED
        and user.is_authenticated
        and user.is_supervisor
        and user.pk != reassignment.prepared_by_id
    )


@dataclass
class EstablishmentCard:
    siret: str
    establishment: Establishment | None
    registry: RegistryEstablishment | None
    account: ExtranetAccount | None
    earlier_tickets: list[Ticket]
    earlier_more: bool


EARLIER_TICKETS_SHOWN = 10


def establishment_card(*, user: User, ticket: Ticket) -> EstablishmentCard:
    """What the agent needs to know about the SIRET of a ticket: the registry row, the
    establishment known to the extranet and its current account holder, and the earlier
    tickets on this SIRET in the agent's queues. Three queries, whatever the history."""
    registry = RegistryEstablishment.objects.filter(siret=ticket.siret).first()
    account = (
        ExtranetAccount.objects.select_related("establishment")
        .filter(establishment__siret=ticket.siret, is_active=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    establishment = ticket.establishment or (account.establishment if account else None)
    earlier = list(
        access.tickets_for(user)
        .filter(siret=ticket.siret)
        .exclude(pk=ticket.pk)
        .select_related("queue")
        .only("pk", "reference", "motif", "status", "created_at", "queue__name", "queue__slug")
        .order_by("-created_at", "-id")[: EARLIER_TICKETS_SHOWN + 1]
    )
    return EstablishmentCard(
        siret=ticket.siret,
        establishment=establishment,
        registry=registry,
        account=account,
        earlier_tickets=earlier[:EARLIER_TICKETS_SHOWN],
        earlier_more=len(earlier) > EARLIER_TICKETS_SHOWN,
    )


def reassignment_counts_by_state() -> dict[str, int]:
    """Reassignments per state, every state present (zeros included): for beat's rollup of
    the operator's metrics. Counts only, system-wide (not scoped to an actor: no person
    reads it through a page; the metrics endpoint has its own access control)."""
    counts = dict(
        AccountReassignment.objects.values("state")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("state", "n")
    )
    return {str(state): counts.get(state, 0) for state in ReassignmentState.values}
