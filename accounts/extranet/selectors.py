"""Reads of the accounts app for the back-office (agents) and the public side."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import (
    OPEN_REASSIGNMENT_STATES,
    AccountReassignment,
    ExtranetHolderHistory,
    ReassignmentState,
    RecoveryLink,
)

RECOVERY_LINKS_SHOWN = 20


def recovery_links_for_establishment(establishment, *, limit: int = RECOVERY_LINKS_SHOWN):
    """The latest recovery / activation links of the establishment's accounts, newest
    first, for the establishment card (S7: sends, send failures, uses, expiries). Each
    link has ``state`` / ``state_label``; never a token."""
    return list(
        RecoveryLink.objects.filter(account__establishment=establishment)
        .select_related("account", "email", "created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def reassignments_pending(*, actor) -> QuerySet[AccountReassignment]:
    """The approval queue: changes waiting for a decision, then those waiting for their
    objection period, oldest first."""
    return (
        AccountReassignment.objects.filter(state__in=OPEN_REASSIGNMENT_STATES)
        .select_related("ticket", "account__establishment", "prepared_by", "approved_by")
        .order_by("state", "prepared_at", "id")
    )


def reassignments_open_counts() -> dict[str, int]:
    """How many reassignments wait for a supervisor's approval (``prepared``) and how many
    wait for the end of their objection period (``approved``): one query."""
    counts = AccountReassignment.objects.filter(state__in=OPEN_REASSIGNMENT_STATES).aggregate(
        prepared=Count("id", filter=Q(state=ReassignmentState.PREPARED)),
        approved=Count("id", filter=Q(state=ReassignmentState.APPROVED)),
    )
    return {"prepared": counts["prepared"], "approved": counts["approved"]}


def reassignments_recent(*, limit: int = 50) -> QuerySet[AccountReassignment]:
    return (
        AccountReassignment.objects.exclude(state__in=OPEN_REASSIGNMENT_STATES)
        .select_related(
            "ticket", "account__establishment", "prepared_by", "approved_by", "rejected_by"
        )
        .order_by("-prepared_at", "-id")[:limit]
    )


def reassignment_detail(*, pk: int) -> AccountReassignment:
    return AccountReassignment.objects.select_related(
        "ticket",
        "ticket__queue",
        "account__establishment",
        "prepared_by",
        "approved_by",
        "rejected_by",
        "cancelled_by",
    ).get(pk=pk)


def reassignments_for_ticket(*, ticket) -> QuerySet[AccountReassignment]:
    return ticket.reassignments.select_related("prepared_by", "approved_by").order_by(
        "-prepared_at"
    )


def other_reassignments_of_establishment(*, reassignment: AccountReassignment):
    return (
        AccountReassignment.objects.filter(
            account__establishment_id=reassignment.account.establishment_id
        )
        .exclude(pk=reassignment.pk)
        .select_related("ticket")
        .order_by("-prepared_at")[:10]
    )


def holder_history(*, account) -> QuerySet[ExtranetHolderHistory]:
    return account.holder_history.all()


def can_decide(*, reassignment: AccountReassignment, user) -> bool:
    return (
        reassignment.state == ReassignmentState.PREPARED
        and user.is_authenticated
        and user.is_supervisor
        and user.pk != reassignment.prepared_by_id
    )
