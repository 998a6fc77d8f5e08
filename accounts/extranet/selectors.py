"""Reads on extranet accounts, their links and their reassignments, scoped to the actor by
the access rule (``tickets.access``): a reassignment is visible to whoever may see its
ticket; outside one's queues it does not exist (None / 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from establishments.models import Establishment, RegistryEstablishment
from tickets import access
from tickets.models import SiretVerification, Ticket, TicketDocument, TicketMessage
from worker.memo import Memo
from worker.prepared import prepared

from .models import (
    OPEN_REASSIGNMENT_STATES,
    AccountReassignment,
    ExtranetAccount,
    ExtranetHolderHistory,
    ReassignmentApproval,
    ReassignmentState,
    RecoveryLink,
)
from .risk import SIGNALS, reassignments_with_signals

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


def reassignments_for_ticket(*, ticket: Ticket) -> QuerySet[AccountReassignment]:
    return ticket.reassignments.select_related("prepared_by", "approved_by").order_by(
        "-prepared_at"
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


# --- The approval queue and the approval page (case 2.1 as a decision made on evidence) ---

PENDING_PAGE_SIZE = 25


def _latest_id_sql(model: type[Model], column: str, outer: str) -> RawSQL:
    """The newest id of ``model`` whose ``column`` equals the outer reassignment's
    ``outer`` column: a correlated scalar subquery on that column's index."""
    return RawSQL(
        f"SELECT MAX(id) FROM {model._meta.db_table} WHERE {column} = {outer}",
        (),
        output_field=IntegerField(),
    )


def with_file_version(qs: QuerySet[AccountReassignment]) -> QuerySet[AccountReassignment]:
    """What the approver's reading depends on, as annotations: the ticket's version and
    the newest message, document, SIRET verification and approval. Any of them moving
    makes an approval given on the older page stale.

    Written once in SQL (portable: SQLite and PostgreSQL) rather than as five composed
    ``Subquery`` expressions: the ORM spent about 3 ms of CPU composing and compiling them
    on every approval page, for the same plans (``MAX(id)`` on the ``ticket_id`` /
    ``reassignment_id`` indexes, as ``ORDER BY id DESC LIMIT 1`` did)."""
    table = AccountReassignment._meta.db_table
    ticket_id, pk = f"{table}.ticket_id", f"{table}.id"
    return qs.annotate(
        fv_ticket=RawSQL(
            f"SELECT version FROM {Ticket._meta.db_table} WHERE id = {ticket_id}",
            (),
            output_field=IntegerField(),
        ),
        fv_message=_latest_id_sql(TicketMessage, "ticket_id", ticket_id),
        fv_document=_latest_id_sql(TicketDocument, "ticket_id", ticket_id),
        fv_verification=_latest_id_sql(SiretVerification, "ticket_id", ticket_id),
        fv_approval=_latest_id_sql(ReassignmentApproval, "reassignment_id", pk),
    )


def file_version_of(reassignment: AccountReassignment) -> str:
    """The version string of an annotated reassignment (``with_file_version``)."""
    parts = (
        reassignment.fv_ticket,  # type: ignore[attr-defined]
        reassignment.fv_message,  # type: ignore[attr-defined]
        reassignment.fv_document,  # type: ignore[attr-defined]
        reassignment.fv_verification,  # type: ignore[attr-defined]
        reassignment.fv_approval,  # type: ignore[attr-defined]
    )
    return ".".join(str(p or 0) for p in parts)


def reassignment_file_version(*, reassignment_id: int) -> str:
    """The current version of a reassignment's file: one query."""
    row = with_file_version(AccountReassignment.objects.filter(pk=reassignment_id)).first()
    return file_version_of(row) if row is not None else ""


def reassignment_file_for(*, actor: User, pk: int) -> AccountReassignment | None:
    """One reassignment with everything its page reads from its own row, its ticket, its
    account and establishment, its risk signals and its file version: one query, prepared
    once per connection (PostgreSQL spent 4 ms planning its nine tables and ten subqueries
    on every approval page, for 0.3 ms of execution: ``worker.prepared``)."""
    with prepared("reassignment_file"):
        return _reassignment_file_query(actor, pk)


def _reassignment_file_query(actor: User, pk: int) -> AccountReassignment | None:
    return (
        with_file_version(access.scope(reassignments_with_signals(), actor))
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


_USER_FIELDS = ("first_name", "last_name", "email")
_LIST_ROW_FIELDS = (
    "id", "state", "prepared_at", "flag_reason", "name_match", "siret", "siren",
    "requester_email", "requester_email_domain", "requester_phone", "new_holder_email",
    "new_holder_first_name", "new_holder_last_name", "registry_started_at", "recent_reassignments",
    "apply_after", "approved_by_id",
    "ticket_id", "ticket__reference", "account_id", "account__identifiant",
    "account__establishment_id",
    "account__establishment__siret", "account__establishment__denomination",
    "account__establishment__email", "account__establishment__email_changed_at",
    "prepared_by_id", *(f"prepared_by__{f}" for f in _USER_FIELDS),
)  # fmt: skip


def reassignments_awaiting_page(
    *, actor: User, after: tuple[datetime, int] | None = None, size: int = PENDING_PAGE_SIZE
) -> tuple[list[AccountReassignment], tuple[datetime, int] | None]:
    """One keyset page of the reassignments awaiting approval (``prepared``), oldest
    first, each with its risk signals: one query whatever the number pending. Returns the
    page and the cursor of the next one (None on the last page)."""
    qs = (
        access.scope(reassignments_with_signals(), actor)
        .filter(state=ReassignmentState.PREPARED)
        .select_related("ticket", "account__establishment", "prepared_by")
        # A list row needs a few columns of each: fewer to read and to build.
        .only(*_LIST_ROW_FIELDS)
        .order_by("prepared_at", "id")
    )
    if after is not None:
        at, pk = after
        # ``prepared_at >= at`` gives the index its starting point (see tickets.selectors).
        qs = qs.filter(Q(prepared_at__gte=at), Q(prepared_at__gt=at) | Q(id__gt=pk))
    with prepared("reassignments_awaiting"):  # planned once per connection (1 ms)
        rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    cursor = (rows[-1].prepared_at, rows[-1].pk) if more and rows else None
    return rows, cursor


# The navigation badge of every supervisor page, by supervisor: read once, then kept by
# each process until a reassignment is prepared, approved or moves on (the services
# invalidate it: ``reassignments_awaiting_changed``), or for a minute (a change of queue
# membership, which changes what a supervisor sees).
AWAITING_COUNTS = Memo("reassignments_awaiting", max_age=60)


def reassignments_awaiting_count(*, actor: User) -> int:
    """How many reassignments wait for this supervisor's approval (the navigation badge):
    prepared, not by them, and not already approved by them. One query, when the memo
    does not have it."""
    return AWAITING_COUNTS.get(
        actor.pk,
        lambda: (
            reassignments_visible(actor=actor)
            .filter(state=ReassignmentState.PREPARED)
            .exclude(prepared_by_id=actor.pk)
            .exclude(approvals__approver_id=actor.pk)
            .count()
        ),
    )


def reassignments_awaiting_changed() -> None:
    """A reassignment was prepared, approved or changed state: the badges are read again
    (on every node) once the current transaction commits."""
    transaction.on_commit(AWAITING_COUNTS.invalidate)


def reassignments_waiting_objection(*, actor: User, limit: int = 10) -> list[AccountReassignment]:
    """Approved changes in their objection period, soonest applied first."""
    return list(
        reassignments_visible(actor=actor)
        .filter(state=ReassignmentState.APPROVED)
        .select_related("account__establishment", "approved_by")
        .only(
            "id",
            "state",
            "apply_after",
            "account_id",
            "account__establishment_id",
            "account__establishment__siret",
            "account__establishment__denomination",
            "approved_by_id",
            *(f"approved_by__{f}" for f in _USER_FIELDS),
        )  # fmt: skip
        .order_by("apply_after", "id")[:limit]
    )


def reassignments_ended_recently(*, actor: User, limit: int = 10) -> list[AccountReassignment]:
    """The latest ended changes (applied, refused, objected, cancelled), newest first."""
    return list(
        reassignments_visible(actor=actor)
        .exclude(state__in=OPEN_REASSIGNMENT_STATES)
        .select_related("ticket")
        .only("id", "state", "prepared_at", "ticket_id", "ticket__reference")
        .order_by("-prepared_at", "-id")[:limit]
    )


def reassignment_signal_counts(*, actor: User) -> dict[str, int]:
    """Per risk signal, how many reassignments awaiting approval carry it: one query (the
    supervisors' dashboard)."""
    qs = access.scope(reassignments_with_signals(), actor).filter(state=ReassignmentState.PREPARED)
    return qs.aggregate(
        **{s.code: Count("id", filter=Q(**{f"sig_{s.code}": True})) for s in SIGNALS}
    )


def approvals_of(*, reassignment: AccountReassignment) -> list[ReassignmentApproval]:
    return list(reassignment.approvals.select_related("approver").order_by("approved_at", "id"))


PREVIOUS_REQUESTS_SHOWN = 10


def establishment_previous_requests(
    *, actor: User, reassignment: AccountReassignment
) -> list[Ticket]:
    """The establishment's other requests (tickets on its SIRET) the actor may see, newest
    first, bounded, each with its latest reassignment if any (``reassignment_pk``,
    ``reassignment_state``): one query on the ``(siret, created_at)`` index."""
    latest = AccountReassignment.objects.filter(ticket_id=OuterRef("pk")).order_by("-id")
    return list(
        access.tickets_for(actor)
        .filter(siret=reassignment.account.establishment.siret)
        .exclude(pk=reassignment.ticket_id)
        .only("pk", "reference", "motif", "status", "created_at", "email")
        .annotate(
            reassignment_pk=Subquery(latest.values("pk")[:1]),
            reassignment_state=Subquery(latest.values("state")[:1]),
        )
        .order_by("-created_at", "-id")[:PREVIOUS_REQUESTS_SHOWN]
    )
