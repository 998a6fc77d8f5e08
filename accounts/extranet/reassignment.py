"""Case 2.1: reassigning an establishment's extranet account to a new holder
(DESIGN.md section 6), the fraud-sensitive path.

prepared (an agent of the Habilitation queue, from a ticket whose SIRET verification
passed) → approved (a *different* person with the supervisor role) → applied by the worker
once the waiting period has passed without objection; or rejected, objected (the previous
holder or the establishment used the link in the notice), cancelled.

Every step runs in one transaction, moves the state with a conditional UPDATE on the
expected state (two people or two workers can never both win), and writes a
``TicketEvent`` of kind ``reassignment`` with the actor and the before/after values. No
step ever carries a password or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.staff.models import Role
from establishments.models import RegistryEstablishment
from establishments.selectors import registry_recheck
from tickets import access
from tickets.documents import documents_mark_checked
from tickets.exceptions import TicketNotFound
from tickets.models import EventKind, Motif, Priority, Status, Ticket
from tickets.services import ticket_change_status, ticket_event_record
from tickets.verification import (
    ticket_siret_verification_latest,
    ticket_siret_verification_passed,
)
from worker.services import email_queue
from worker.transitions import StaleTransition, transition, transition_rows

from .exceptions import ReassignmentForbidden, ReassignmentRefused
from .links import recovery_link_create, recovery_links_revoke_for_account
from .models import (
    REASSIGNMENT_TRANSITIONS,
    AccountReassignment,
    ExtranetAccount,
    ExtranetHolderHistory,
    LinkPurpose,
    ObjectionParty,
    ReassignmentApproval,
    ReassignmentState,
    RecoveryLink,
)
from .risk import RiskSignal, contact_values, reassignment_signals_live
from .selectors import reassignment_file_version, reassignments_awaiting_changed

if TYPE_CHECKING:
    from accounts.staff.models import User

logger = logging.getLogger(__name__)

APPLY_SWEEP_BATCH = 100


@dataclass(frozen=True)
class ReassignmentResult:
    reassignment: AccountReassignment
    # True when the same SIRET had another reassignment within the repeat window: shown to
    # the approver.
    repeated_within_window: bool
    # Approval: the live risk signals, and how many approvals the change still needs
    # (0 once it is approved).
    signals: list[RiskSignal] = dataclass_field(default_factory=list)
    approvals_missing: int = 0


class _RecheckFailed(Exception):
    """A re-check refused a step: the step's transaction rolls back, then the refusal is
    recorded on the ticket and flagged in a transaction of its own (``_flag``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _recheck(ticket: Ticket, siret: str) -> RegistryEstablishment:
    """The registry state (known, active) and the verification verdict, as they are now:
    checked again at preparation, at approval and when the worker applies."""
    registry, refusal = registry_recheck(siret=siret)
    if refusal:
        raise _RecheckFailed(refusal)
    if not ticket_siret_verification_passed(ticket):
        raise _RecheckFailed(
            _("La dernière vérification du SIRET de la demande n'est plus « conforme ».")
        )
    assert registry is not None
    return registry


def _flag(
    *, ticket_id: int, step: str, reason: str, actor: User | None, reassignment_id: int | None
) -> None:
    """Record on the ticket's timeline that a step was refused by a re-check (or that the
    registry closed the establishment), flag the reassignment, and raise the ticket to
    urgent so that it stands out in its queue."""
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)
        priority_before = ticket.priority
        Ticket.objects.filter(pk=ticket_id).update(
            priority=Priority.URGENT, version=F("version") + 1, updated_at=now
        )
        if reassignment_id is not None:
            AccountReassignment.objects.filter(pk=reassignment_id).update(
                flag_reason=reason, flagged_at=now
            )
        ticket_event_record(
            ticket=ticket,
            kind=EventKind.REASSIGNMENT,
            actor=actor,
            data={
                "step": "flagged",
                "refused_step": step,
                "reason": reason,
                "reassignment_id": reassignment_id,
                "before": {"priority": priority_before},
                "after": {"priority": int(Priority.URGENT)},
            },
        )
    logger.warning("Reassignment step %s refused on ticket %s: %s", step, ticket_id, reason)


def reassignments_flag_closed(*, sirets: Collection[str]) -> int:
    """The registry closed these establishments (``import_sirene``): flag every open
    reassignment of theirs. Returns how many were flagged."""
    open_ones = list(
        AccountReassignment.objects.filter(
            siret__in=list(sirets),
            state__in=[ReassignmentState.PREPARED, ReassignmentState.APPROVED],
        ).values_list("pk", "ticket_id")
    )
    reason = _(
        "Le registre (import SIRENE) indique que l'établissement est fermé (état « F ») : la "
        "réattribution en cours ne pourra pas aboutir."
    )
    for reassignment_id, ticket_id in open_ones:
        _flag(
            ticket_id=ticket_id,
            step="registry_closed",
            reason=reason,
            actor=None,
            reassignment_id=reassignment_id,
        )
    return len(open_ones)


def _started_at(registry: RegistryEstablishment) -> datetime | None:
    if registry.started_on is None:
        return None
    return datetime.combine(registry.started_on, time.min, tzinfo=UTC)


def _name_values(ticket: Ticket) -> dict:
    latest = ticket_siret_verification_latest(ticket)
    checks = latest.checks if latest is not None else {}
    return {
        "name_match": checks.get("name_match", "") or "",
        "name_similarity": checks.get("name_similarity"),
    }


def _holder_values(account: ExtranetAccount) -> dict:
    return {
        "last_name": account.holder_last_name,
        "first_name": account.holder_first_name,
        "email": account.holder_email,
        "phone": str(account.holder_phone or ""),
    }


def _new_holder_values(reassignment: AccountReassignment) -> dict:
    return {
        "last_name": reassignment.new_holder_last_name,
        "first_name": reassignment.new_holder_first_name,
        "email": reassignment.new_holder_email,
        "phone": reassignment.new_holder_phone,
    }


def _event(
    reassignment: AccountReassignment, *, step: str, actor: User | None, **data: Any
) -> None:
    ticket_event_record(
        ticket=reassignment.ticket,
        kind=EventKind.REASSIGNMENT,
        actor=actor,
        data={"step": step, "reassignment_id": reassignment.pk, **data},
    )


def _recent_count(*, establishment_id: int, exclude_pk: int | None = None) -> int:
    since = timezone.now() - timedelta(days=settings.REASSIGNMENT_REPEAT_WINDOW_DAYS)
    qs = AccountReassignment.objects.filter(
        account__establishment_id=establishment_id, prepared_at__gte=since
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.count()


def reassignment_account_for_ticket(*, ticket: Ticket) -> ExtranetAccount | None:
    """The establishment's principal extranet account, found by the ticket's SIRET."""
    return (
        ExtranetAccount.objects.select_related("establishment")
        .filter(establishment__siret=ticket.siret)
        .order_by("-is_active", "pk")
        .first()
    )


def _check_can_prepare(*, ticket: Ticket, actor: User) -> None:
    if not (actor and actor.is_authenticated and actor.is_active):
        raise ReassignmentForbidden(_("Vous devez être connecté."))
    if not access.can_see_queue(actor, ticket.queue_id, fresh=True):
        # Outside the actor's queues the ticket does not exist (404), as everywhere.
        raise TicketNotFound(str(access.TICKET_NOT_FOUND))


def _refused(source: str, target: str) -> ReassignmentRefused:
    return ReassignmentRefused(
        _("Cette réattribution est « %(state)s » : l'opération n'est plus possible.")
        % {"state": ReassignmentState(source).label}
    )


def _move(reassignment: AccountReassignment, *, to: str, **fields: Any) -> None:
    """Move along the state machine (``REASSIGNMENT_TRANSITIONS``) with a conditional
    UPDATE on the current state: two people or two workers can never both win."""
    try:
        transition(reassignment, to=to, table=REASSIGNMENT_TRANSITIONS, refused=_refused, **fields)
    except StaleTransition as exc:
        raise ReassignmentRefused(
            _("Cette réattribution a été modifiée entre-temps : rechargez la page.")
        ) from exc
    reassignments_awaiting_changed()


def reassignment_prepare(
    *,
    ticket: Ticket,
    actor: User,
    new_holder_last_name: str,
    new_holder_first_name: str,
    new_holder_email: str,
    new_holder_phone: str,
    evidence_notes: str,
    checked_documents: Collection[int] = (),
) -> ReassignmentResult:
    """An agent prepares the change. Refused unless the ticket is an open "Habilitation à
    l'extranet" request whose SIRET verification passed, the registry still knows the
    establishment as active, and the establishment has an account with no other change in
    progress. ``checked_documents``: the ids of the requester's documents the preparer
    checked, recorded on them and in the event."""
    try:
        return _prepare(
            ticket=ticket,
            actor=actor,
            new_holder_last_name=new_holder_last_name,
            new_holder_first_name=new_holder_first_name,
            new_holder_email=new_holder_email,
            new_holder_phone=new_holder_phone,
            evidence_notes=evidence_notes,
            checked_documents=checked_documents,
        )
    except _RecheckFailed as exc:
        _flag(
            ticket_id=ticket.pk, step="prepare", reason=exc.reason, actor=actor,
            reassignment_id=None,
        )  # fmt: skip
        raise ReassignmentRefused(exc.reason) from exc


def _prepare(
    *,
    ticket: Ticket,
    actor: User,
    new_holder_last_name: str,
    new_holder_first_name: str,
    new_holder_email: str,
    new_holder_phone: str,
    evidence_notes: str,
    checked_documents: Collection[int],
) -> ReassignmentResult:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("queue").get(pk=ticket.pk)
        )
        _check_can_prepare(ticket=ticket, actor=actor)
        if ticket.motif != Motif.HABILITATION_EXTRANET:
            raise ReassignmentRefused(
                _(
                    "Une réattribution ne se prépare que depuis une demande « Habilitation à "
                    "l'extranet »."
                )
            )
        if not ticket.is_open:
            raise ReassignmentRefused(_("Cette demande est close ou résolue."))
        if not ticket_siret_verification_passed(ticket):
            raise ReassignmentRefused(
                _(
                    "La vérification du SIRET de cette demande n'a pas abouti : la réattribution "
                    "est impossible."
                )
            )
        if not evidence_notes.strip():
            raise ReassignmentRefused(_("Indiquez les éléments vérifiés."))
        account = reassignment_account_for_ticket(ticket=ticket)
        if account is None:
            raise ReassignmentRefused(_("Cet établissement n'a pas de compte extranet."))
        registry = _recheck(ticket, account.establishment.siret)
        now = timezone.now()
        recent = _recent_count(establishment_id=account.establishment_id)
        try:
            with transaction.atomic():
                reassignment = AccountReassignment.objects.create(
                    ticket=ticket,
                    account=account,
                    new_holder_last_name=new_holder_last_name.strip(),
                    new_holder_first_name=new_holder_first_name.strip(),
                    new_holder_email=new_holder_email.strip().lower(),
                    new_holder_phone=new_holder_phone.strip(),
                    evidence_notes=evidence_notes.strip(),
                    previous_holder_email=account.holder_email,
                    previous_holder_name=account.holder_name,
                    prepared_by=actor,
                    prepared_at=now,
                    recent_reassignments=recent,
                    siret=account.establishment.siret,
                    siren=account.establishment.siret[:9],
                    registry_started_at=_started_at(registry),
                    **contact_values(email=ticket.email, phone=ticket.phone),
                    **_name_values(ticket),
                )
        except IntegrityError as exc:
            raise ReassignmentRefused(
                _("Une réattribution de ce compte est déjà en cours.")
            ) from exc
        reassignments_awaiting_changed()
        checked = documents_mark_checked(locked=ticket, actor=actor, document_ids=checked_documents)
        _event(
            reassignment,
            step="prepared",
            actor=actor,
            checked_documents=[
                {"id": d.pk, "name": d.name, "kind": d.kind, "sha256": d.sha256} for d in checked
            ],
            account=account.identifiant,
            before=_holder_values(account),
            after=_new_holder_values(reassignment),
            evidence_notes=reassignment.evidence_notes,
            repeated_within_window=recent > 0,
        )
        if ticket.status == Status.NOUVEAU:
            ticket_change_status(ticket=ticket, actor=actor, new_status=Status.EN_COURS)
    logger.info("Reassignment %s prepared on ticket %s.", reassignment.pk, ticket.reference)
    return ReassignmentResult(reassignment=reassignment, repeated_within_window=recent > 0)


def _lock(reassignment: AccountReassignment) -> AccountReassignment:
    return (
        AccountReassignment.objects.select_for_update(of=("self",))
        .select_related("ticket", "account", "account__establishment", "prepared_by")
        .get(pk=reassignment.pk)
    )


def _check_can_approve(actor: User) -> None:
    """Approving takes the supervisor role itself. An administrator manages accounts in
    /admin/ (roles, second factors): one who could also approve might create a second
    account and be both the preparer and the approver, so the four-eyes rule would rest on
    one person."""
    if actor.role != Role.SUPERVISOR or actor.is_superuser:
        raise ReassignmentForbidden(
            _(
                "Seul un superviseur peut valider une réattribution : un administrateur "
                "ne le peut pas."
            )
        )


def _check_can_decide(reassignment: AccountReassignment, actor: User) -> None:
    if not (actor and actor.is_authenticated and actor.is_active and actor.is_supervisor):
        raise ReassignmentForbidden(_("Seul un superviseur peut valider ou refuser."))
    if actor.pk == reassignment.prepared_by_id:
        raise ReassignmentForbidden(
            _("Vous avez préparé cette réattribution : une autre personne doit la valider.")
        )


def reassignment_approve(
    *,
    reassignment: AccountReassignment,
    actor: User,
    file_version: str,
    acknowledgements: Mapping[str, str] | None = None,
    comment: str = "",
) -> ReassignmentResult:
    """A supervisor other than the preparer approves, having read the whole file.

    Refused when the file changed since the approver read it (``file_version``: a new
    message, document, verification or approval), when the registry no longer knows the
    establishment as active or the latest SIRET verification is no longer "passed" (then
    recorded on the ticket and flagged), and unless every live risk signal is acknowledged
    in writing (``acknowledgements``: {signal code: text}). With
    ``REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS`` signals or more, two different supervisors
    must approve: the first approval is recorded and the change stays ``prepared``.

    On the last approval, notices with an objection link go to the holder's address and to
    the establishment's address on record; the change waits
    ``REASSIGNMENT_WAITING_PERIOD_HOURS``."""
    try:
        return _approve(
            reassignment=reassignment,
            actor=actor,
            file_version=file_version,
            acknowledgements=acknowledgements or {},
            comment=(comment or "").strip(),
        )
    except _RecheckFailed as exc:
        _flag(
            ticket_id=reassignment.ticket_id, step="approve", reason=exc.reason, actor=actor,
            reassignment_id=reassignment.pk,
        )  # fmt: skip
        raise ReassignmentRefused(exc.reason) from exc


def _approve(
    *,
    reassignment: AccountReassignment,
    actor: User,
    file_version: str,
    acknowledgements: Mapping[str, str],
    comment: str,
) -> ReassignmentResult:
    with transaction.atomic():
        reassignment = _lock(reassignment)
        _check_can_decide(reassignment, actor)
        _check_can_approve(actor)
        if reassignment.state != ReassignmentState.PREPARED:
            raise _refused(reassignment.state, ReassignmentState.APPROVED)
        if ReassignmentApproval.objects.filter(reassignment=reassignment, approver=actor).exists():
            raise ReassignmentForbidden(
                _(
                    "Vous avez déjà approuvé cette réattribution : un autre superviseur doit "
                    "donner la seconde approbation."
                )
            )
        current = reassignment_file_version(reassignment_id=reassignment.pk)
        if (file_version or "").strip() != current:
            raise ReassignmentRefused(
                _(
                    "Le dossier a changé depuis que vous l'avez ouvert (nouveau message, "
                    "document, vérification ou approbation) : relisez-le, puis validez à "
                    "nouveau."
                )
            )
        registry = _recheck(reassignment.ticket, reassignment.account.establishment.siret)
        # What the signals read from the registry and the verification, as they are now.
        refreshed = {
            "registry_started_at": _started_at(registry),
            **_name_values(reassignment.ticket),
        }
        AccountReassignment.objects.filter(pk=reassignment.pk).update(**refreshed)
        for name, value in refreshed.items():
            setattr(reassignment, name, value)
        signals = reassignment_signals_live(reassignment_id=reassignment.pk)
        written = {s.code: (acknowledgements.get(s.code) or "").strip() for s in signals}
        missing = [s for s in signals if not written[s.code]]
        if missing:
            raise ReassignmentRefused(
                _("Chaque signal de risque doit être pris en compte par écrit : %(signals)s.")
                % {"signals": ", ".join(str(s.label) for s in missing)}
            )
        now = timezone.now()
        ReassignmentApproval.objects.create(
            reassignment=reassignment,
            approver=actor,
            approved_at=now,
            acknowledgements=written,
            file_version=current,
        )
        reassignments_awaiting_changed()
        required = 2 if len(signals) >= settings.REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS else 1
        given = ReassignmentApproval.objects.filter(reassignment=reassignment).count()
        recent = _recent_count(
            establishment_id=reassignment.account.establishment_id, exclude_pk=reassignment.pk
        )
        if given < required:
            _event(
                reassignment,
                step="approval_recorded",
                actor=actor,
                signals=[s.code for s in signals],
                acknowledgements=written,
                approvals=given,
                approvals_required=required,
                comment=comment,
            )
            logger.info("Reassignment %s: approval %s of %s.", reassignment.pk, given, required)
            return ReassignmentResult(
                reassignment=reassignment,
                repeated_within_window=recent > 0,
                signals=signals,
                approvals_missing=required - given,
            )
        apply_after = now + timedelta(hours=settings.REASSIGNMENT_WAITING_PERIOD_HOURS)
        _move(
            reassignment,
            to=ReassignmentState.APPROVED,
            approved_by=actor,
            decided_at=now,
            apply_after=apply_after,
        )
        recipients = _notice_recipients(reassignment)
        for party, address in recipients:
            email_queue(
                template="reassignment_notice",
                to_email=address,
                ticket_id=reassignment.ticket_id,
                context={
                    "party": party,
                    "denomination": reassignment.account.establishment.denomination,
                    "siret": reassignment.account.establishment.siret,
                    "identifiant": reassignment.account.identifiant,
                    "new_holder_name": reassignment.new_holder_name,
                    "apply_after": timezone.localtime(apply_after).strftime("%d/%m/%Y à %H:%M"),
                    "secret_link": {"kind": "objection", "id": reassignment.pk, "party": party},
                },
            )
        _event(
            reassignment,
            step="approved",
            actor=actor,
            before={"state": ReassignmentState.PREPARED},
            after={"state": ReassignmentState.APPROVED, "apply_after": apply_after.isoformat()},
            notices_sent_to=[party for party, _address in recipients],
            repeated_within_window=recent > 0,
            signals=[s.code for s in signals],
            acknowledgements=written,
            approvals=given,
            comment=comment,
        )
    logger.info("Reassignment %s approved; applies after %s.", reassignment.pk, apply_after)
    return ReassignmentResult(
        reassignment=reassignment, repeated_within_window=recent > 0, signals=signals
    )


def _notice_recipients(reassignment: AccountReassignment) -> list[tuple[str, str]]:
    recipients = [(ObjectionParty.PREVIOUS_HOLDER.value, reassignment.previous_holder_email)]
    establishment_email = (reassignment.account.establishment.email or "").strip().lower()
    if establishment_email and establishment_email != reassignment.previous_holder_email.lower():
        recipients.append((ObjectionParty.ESTABLISHMENT.value, establishment_email))
    return recipients


def reassignment_reject(
    *, reassignment: AccountReassignment, actor: User, comment: str = ""
) -> AccountReassignment:
    with transaction.atomic():
        reassignment = _lock(reassignment)
        _check_can_decide(reassignment, actor)
        now = timezone.now()
        _move(
            reassignment,
            to=ReassignmentState.REJECTED,
            rejected_by=actor,
            decided_at=now,
            decision_comment=comment.strip(),
        )
        _event(
            reassignment,
            step="rejected",
            actor=actor,
            before={"state": ReassignmentState.PREPARED},
            after={"state": ReassignmentState.REJECTED},
            comment=comment.strip(),
        )
    return reassignment


def reassignment_cancel(
    *, reassignment: AccountReassignment, actor: User, comment: str = ""
) -> AccountReassignment:
    """The preparer or a supervisor withdraws a change that has not applied yet."""
    with transaction.atomic():
        reassignment = _lock(reassignment)
        if not (actor and actor.is_authenticated and actor.is_active) or not (
            actor.is_supervisor or actor.pk == reassignment.prepared_by_id
        ):
            raise ReassignmentForbidden(
                _("Seul l'agent qui l'a préparée ou un superviseur peut annuler une réattribution.")
            )
        before = reassignment.state
        _move(
            reassignment,
            to=ReassignmentState.CANCELLED,
            cancelled_by=actor,
            cancelled_at=timezone.now(),
            decision_comment=comment.strip(),
            previous_holder_objection_hash="",
            establishment_objection_hash="",
        )
        _event(
            reassignment,
            step="cancelled",
            actor=actor,
            before={"state": before},
            after={"state": ReassignmentState.CANCELLED},
            comment=comment.strip(),
        )
    return reassignment


def reassignment_find_for_objection(*, token_hash: str) -> tuple[AccountReassignment, str] | None:
    """The waiting reassignment an objection token belongs to, with the objecting party."""
    if not token_hash:
        return None
    for party, field in (
        (ObjectionParty.PREVIOUS_HOLDER, "previous_holder_objection_hash"),
        (ObjectionParty.ESTABLISHMENT, "establishment_objection_hash"),
    ):
        found = (
            AccountReassignment.objects.select_related("account__establishment")
            .filter(**{field: token_hash})
            .first()
        )
        if found is not None:
            return found, party.value
    return None


def reassignment_object(*, token_hash: str) -> AccountReassignment:
    """The previous holder or the establishment objects (public page, no login): the
    change is cancelled for good and the ticket is flagged (priority raised). Works once:
    the state leaves ``approved``."""
    with transaction.atomic():
        found = reassignment_find_for_objection(token_hash=token_hash)
        if found is None:
            raise ReassignmentRefused(_("Ce lien d'opposition n'est pas valable."))
        reassignment, party = found
        reassignment = _lock(reassignment)
        if reassignment.state != ReassignmentState.APPROVED:
            raise ReassignmentRefused(
                _(
                    "Cette réattribution n'est plus en attente : l'opposition n'est plus possible "
                    "par ce lien. Contactez l'assistance."
                )
            )
        now = timezone.now()
        _move(
            reassignment,
            to=ReassignmentState.OBJECTED,
            objected_at=now,
            objected_by_party=party,
            # Both links die with the change.
            previous_holder_objection_hash="",
            establishment_objection_hash="",
        )
        ticket = Ticket.objects.select_for_update().get(pk=reassignment.ticket_id)
        priority_before = ticket.priority
        Ticket.objects.filter(pk=ticket.pk).update(
            priority=Priority.URGENT, version=F("version") + 1, updated_at=now
        )
        _event(
            reassignment,
            step="objected",
            actor=None,
            party=party,
            before={"state": ReassignmentState.APPROVED, "priority": priority_before},
            after={"state": ReassignmentState.OBJECTED, "priority": int(Priority.URGENT)},
        )
    logger.warning("Reassignment %s objected by %s.", reassignment.pk, party)
    return reassignment


def reassignment_apply(*, reassignment_id: int) -> bool:
    """Apply one approved reassignment whose waiting period is over. Idempotent: the
    claim is a conditional UPDATE from ``approved``, so it runs once even if two workers
    get the same id. Returns True when this call applied it."""
    with transaction.atomic():
        now = timezone.now()
        due = (
            AccountReassignment.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(pk=reassignment_id, state=ReassignmentState.APPROVED, apply_after__lte=now)
            .first()
        )
        if due is None:
            return False
        refusal: str | None = None
        try:
            _recheck(due.ticket, due.siret or due.account.establishment.siret)
        except _RecheckFailed as exc:
            refusal = exc.reason
        if refusal is not None:
            # The worker never applies a change the registry or the verdict no longer
            # supports: the change is cancelled, its links die, the ticket is flagged.
            transition_rows(
                AccountReassignment.objects.filter(pk=reassignment_id),
                to=ReassignmentState.CANCELLED,
                table=REASSIGNMENT_TRANSITIONS,
                cancelled_at=now,
                decision_comment=refusal,
                previous_holder_objection_hash="",
                establishment_objection_hash="",
            )
            _event(
                due,
                step="cancelled",
                actor=None,
                before={"state": ReassignmentState.APPROVED},
                after={"state": ReassignmentState.CANCELLED},
                comment=refusal,
            )
            _flag(
                ticket_id=due.ticket_id, step="apply", reason=refusal, actor=None,
                reassignment_id=reassignment_id,
            )  # fmt: skip
            return False
        claimed = transition_rows(
            AccountReassignment.objects.filter(pk=reassignment_id, apply_after__lte=now),
            to=ReassignmentState.APPLIED,
            table=REASSIGNMENT_TRANSITIONS,
            applied_at=now,
            previous_holder_objection_hash="",
            establishment_objection_hash="",
        )
        if not claimed:
            return False
        reassignment = AccountReassignment.objects.select_related("ticket").get(pk=reassignment_id)
        account = (
            ExtranetAccount.objects.select_for_update(of=("self",))
            .select_related("establishment")
            .get(pk=reassignment.account_id)
        )
        before = _holder_values(account)
        ExtranetHolderHistory.objects.create(
            account=account,
            previous_last_name=account.holder_last_name,
            previous_first_name=account.holder_first_name,
            previous_email=account.holder_email,
            previous_phone=str(account.holder_phone or ""),
            new_last_name=reassignment.new_holder_last_name,
            new_first_name=reassignment.new_holder_first_name,
            new_email=reassignment.new_holder_email,
            new_phone=reassignment.new_holder_phone,
            changed_at=now,
            reassignment=reassignment,
        )
        # The previous holder is detached: every session ends, the password is unusable,
        # the secret answer is forgotten and every pending link is revoked.
        revoked = recovery_links_revoke_for_account(account=account)
        account.holder_last_name = reassignment.new_holder_last_name
        account.holder_first_name = reassignment.new_holder_first_name
        account.holder_email = reassignment.new_holder_email
        account.holder_phone = reassignment.new_holder_phone
        account.secret_question = ""
        account.secret_answer_hash = ""
        account.set_unusable_password()
        account.session_generation += 1
        account.is_active = True
        account.save(
            update_fields=[
                "holder_last_name",
                "holder_first_name",
                "holder_email",
                "holder_phone",
                "secret_question",
                "secret_answer_hash",
                "password",
                "session_generation",
                "is_active",
            ]
        )
        link = recovery_link_create(
            account=account,
            purpose=LinkPurpose.ACTIVATION,
            template="reassignment_activation",
            ticket=reassignment.ticket,
            context={
                "denomination": account.establishment.denomination,
                "siret": account.establishment.siret,
            },
        )
        email_queue(
            template="reassignment_done_requester",
            to_email=reassignment.ticket.email,
            ticket_id=reassignment.ticket_id,
            context={
                "reference": reassignment.ticket.reference,
                "requester_name": reassignment.ticket.requester_name,
                "denomination": account.establishment.denomination,
                "new_holder_email": reassignment.new_holder_email,
            },
        )
        _event(
            reassignment,
            step="applied",
            actor=None,
            account=account.identifiant,
            before=before,
            after=_holder_values(account),
            sessions_ended=True,
            password_unusable=True,
            links_revoked=revoked,
            activation_link_id=link.pk,
        )
        ticket = reassignment.ticket
        if Status.RESOLU in ticket.allowed_transitions():
            ticket_change_status(ticket=ticket, actor=None, new_status=Status.RESOLU)
    logger.info("Reassignment %s applied to account %s.", reassignment_id, account.pk)
    return True


def reassignments_apply_due() -> int:
    """Beat's sweep: apply every approved reassignment whose waiting period is over.
    Bounded; each one in its own transaction."""
    due = list(
        AccountReassignment.objects.filter(
            state=ReassignmentState.APPROVED, apply_after__lte=timezone.now()
        )
        .order_by("apply_after")
        .values_list("pk", flat=True)[:APPLY_SWEEP_BATCH]
    )
    applied = 0
    for reassignment_id in due:
        try:
            applied += reassignment_apply(reassignment_id=reassignment_id)
        except Exception:  # noqa: BLE001 - one failure must not stop the others
            logger.exception("Reassignment %s could not be applied.", reassignment_id)
    return applied


def activation_link_resend(*, reassignment: AccountReassignment, actor: User) -> RecoveryLink:
    """An agent has a fresh activation link sent to the new holder of an applied
    reassignment (the previous link is revoked). The agent never sees the link."""
    with transaction.atomic():
        reassignment = _lock(reassignment)
        _check_can_prepare(ticket=reassignment.ticket, actor=actor)
        account = (
            ExtranetAccount.objects.select_for_update(of=("self",))
            .select_related("establishment")
            .get(pk=reassignment.account_id)
        )
        if (
            reassignment.state != ReassignmentState.APPLIED
            or account.holder_email != reassignment.new_holder_email
        ):
            raise ReassignmentRefused(
                _(
                    "Le lien d'activation ne se renvoie qu'après une réattribution appliquée, "
                    "au titulaire qu'elle a désigné."
                )
            )
        link = recovery_link_create(
            account=account,
            purpose=LinkPurpose.ACTIVATION,
            template="reassignment_activation",
            ticket=reassignment.ticket,
            actor=actor,
            context={
                "denomination": account.establishment.denomination,
                "siret": account.establishment.siret,
            },
        )
        _event(
            reassignment,
            step="activation_link_resent",
            actor=actor,
            account=account.identifiant,
            activation_link_id=link.pk,
        )
    return link
