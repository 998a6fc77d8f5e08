"""Writes on incident notices. Each function runs in one transaction, records who did what
(NoticeEvent) and invalidates every process's live notices on commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import access
from tickets.models import STATUS_TRANSITIONS, EventKind, Motif, Status, Ticket
from tickets.services import ticket_change_status, ticket_event_record, ticket_reply
from worker.transitions import sources_of, transition, transition_rows

from .exceptions import NoticeError
from .models import NOTICE_TRANSITIONS, IncidentNotice, NoticeEvent, NoticeLevel, NoticeState
from .selectors import notice_ids_live_for_motif, notices_live_changed

if TYPE_CHECKING:
    from accounts.staff.models import User

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200
NOTICE_FIELDS = ("title", "text", "link", "level", "starts_at", "ends_at", "affected_motifs")


def _live_cache_clear() -> None:
    transaction.on_commit(notices_live_changed)


def _check_values(
    *, starts_at: datetime, ends_at: datetime | None, level: str, motifs: Iterable[str]
) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise NoticeError(_("La fin doit être postérieure au début."))
    if level not in NoticeLevel.values:
        raise NoticeError(_("Niveau de bandeau inconnu."))
    unknown = set(motifs) - set(Motif.values)
    if unknown:
        raise NoticeError(_("Motif inconnu : %(motifs)s.") % {"motifs": ", ".join(sorted(unknown))})


def _record(notice: IncidentNotice, kind: str, actor: User, data: dict | None = None) -> None:
    NoticeEvent.objects.create(notice=notice, kind=kind, actor=actor, data=data or {})


def _snapshot(notice: IncidentNotice) -> dict:
    values = {}
    for field in NOTICE_FIELDS:
        value = getattr(notice, field)
        values[field] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _refused(source: str, target: str) -> NoticeError:
    return NoticeError(
        _("Impossible de passer un bandeau de « %(old)s » à « %(new)s ».")
        % {"old": NoticeState(source).label, "new": NoticeState(target).label}
    )


def _stamps(new_state: str, now: datetime) -> dict:
    if new_state == NoticeState.PUBLISHED:
        return {"published_at": now}
    if new_state in (NoticeState.EXPIRED, NoticeState.WITHDRAWN):
        return {"ended_at": now}
    return {}


def _move(notice: IncidentNotice, new_state: str, *, actor: User, kind: str) -> IncidentNotice:
    before = notice.state
    now = timezone.now()
    transition(
        notice,
        to=new_state,
        table=NOTICE_TRANSITIONS,
        refused=_refused,
        updated_at=now,
        **_stamps(new_state, now),
    )
    _record(notice, kind, actor, {"before": before, "after": new_state})
    _live_cache_clear()
    return notice


def notice_create(
    *,
    actor: User,
    title: str,
    text: str,
    level: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    link: str = "",
    affected_motifs: list[str] | None = None,
) -> IncidentNotice:
    """Create a draft notice."""
    motifs = sorted(set(affected_motifs or []))
    _check_values(starts_at=starts_at, ends_at=ends_at, level=level, motifs=motifs)
    with transaction.atomic():
        notice = IncidentNotice.objects.create(
            title=title,
            text=text,
            level=level,
            starts_at=starts_at,
            ends_at=ends_at,
            link=link,
            affected_motifs=motifs,
            created_by=actor,
        )
        _record(notice, "created", actor, _snapshot(notice))
    return notice


def notice_update(*, notice: IncidentNotice, actor: User, **values: Any) -> IncidentNotice:
    unknown = set(values) - set(NOTICE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown notice fields: {unknown}")
    with transaction.atomic():
        locked = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        if not locked.is_editable:
            raise NoticeError(_("Un bandeau expiré ou retiré ne peut plus être modifié."))
        before = _snapshot(locked)
        for field, value in values.items():
            if field == "affected_motifs":
                value = sorted(set(value or []))
            setattr(locked, field, value)
        _check_values(
            starts_at=locked.starts_at,
            ends_at=locked.ends_at,
            level=locked.level,
            motifs=locked.affected_motifs,
        )
        locked.save()
        after = _snapshot(locked)
        changed = {
            k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]
        }
        _record(locked, "updated", actor, changed)
        _live_cache_clear()
    return locked


def notice_schedule(*, notice: IncidentNotice, actor: User) -> IncidentNotice:
    """Hand the notice to the worker: published at its start, expired at its end."""
    with transaction.atomic():
        locked = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        if locked.ends_at is not None and locked.ends_at <= timezone.now():
            raise NoticeError(_("La fin de ce bandeau est déjà passée."))
        return _move(locked, NoticeState.SCHEDULED, actor=actor, kind="scheduled")


def notice_unschedule(*, notice: IncidentNotice, actor: User) -> IncidentNotice:
    with transaction.atomic():
        locked = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        return _move(locked, NoticeState.DRAFT, actor=actor, kind="unscheduled")


def notice_publish_now(*, notice: IncidentNotice, actor: User) -> IncidentNotice:
    with transaction.atomic():
        locked = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        now = timezone.now()
        if locked.ends_at is not None and locked.ends_at <= now:
            raise NoticeError(_("La fin de ce bandeau est déjà passée."))
        if locked.starts_at > now:
            locked.starts_at = now
            locked.save(update_fields=["starts_at", "updated_at"])
        return _move(locked, NoticeState.PUBLISHED, actor=actor, kind="published")


def notice_schedule_at(
    *, notice: IncidentNotice, actor: User, starts_at: datetime, ends_at: datetime | None
) -> IncidentNotice:
    """Set the notice's window and schedule it, both or neither (the agents' "Programmer"
    form): one transaction around the two services."""
    with transaction.atomic():
        if (notice.starts_at, notice.ends_at) != (starts_at, ends_at):
            notice = notice_update(notice=notice, actor=actor, starts_at=starts_at, ends_at=ends_at)
        return notice_schedule(notice=notice, actor=actor)


def notice_withdraw(*, notice: IncidentNotice, actor: User) -> IncidentNotice:
    with transaction.atomic():
        locked = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        return _move(locked, NoticeState.WITHDRAWN, actor=actor, kind="withdrawn")


def notices_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Publish scheduled notices whose start came and expire those whose end passed.

    Run by beat every 30 seconds. Idempotent, and it catches up after downtime: a notice
    whose whole window passed while the worker was down is expired without ever being
    shown. Each row moves through ``transition_rows`` (a conditional UPDATE on the states
    the table allows), so two sweeps never both move it.
    """
    now = now or timezone.now()
    counts = {"published": 0, "expired": 0}
    ended = Q(ends_at__isnull=False, ends_at__lte=now)
    expire = list(
        IncidentNotice.objects.filter(
            ended, state__in=sources_of(NOTICE_TRANSITIONS, NoticeState.EXPIRED)
        ).values_list("pk", "state")[:SWEEP_BATCH]
    )
    for pk, before in expire:
        with transaction.atomic():
            moved = transition_rows(
                IncidentNotice.objects.filter(pk=pk, state=before),
                to=NoticeState.EXPIRED,
                table=NOTICE_TRANSITIONS,
                ended_at=now,
                updated_at=now,
            )
            if moved:
                NoticeEvent.objects.create(
                    notice_id=pk,
                    kind="expired",
                    actor=None,
                    data={"before": before, "after": NoticeState.EXPIRED, "by": "worker"},
                )
                counts["expired"] += 1
    publish_ids = list(
        IncidentNotice.objects.filter(state=NoticeState.SCHEDULED, starts_at__lte=now)
        .exclude(ended)
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in publish_ids:
        with transaction.atomic():
            # Only a scheduled notice is published by the worker (a draft waits for an agent).
            moved = transition_rows(
                IncidentNotice.objects.filter(pk=pk, state=NoticeState.SCHEDULED),
                to=NoticeState.PUBLISHED,
                table=NOTICE_TRANSITIONS,
                published_at=now,
                updated_at=now,
            )
            if moved:
                NoticeEvent.objects.create(
                    notice_id=pk,
                    kind="published",
                    actor=None,
                    data={
                        "before": NoticeState.SCHEDULED,
                        "after": NoticeState.PUBLISHED,
                        "by": "worker",
                    },
                )
                counts["published"] += 1
    if counts["published"] or counts["expired"]:
        notices_live_changed()
        logger.info("Notices sweep: %(published)s published, %(expired)s expired.", counts)
    return counts


def notice_link_ticket(*, ticket: Ticket) -> list[int]:
    """Link a new ticket to the live notices that name its motif, and say so on its
    timeline. Called in the intake's transaction (receiver of ``ticket_created``)."""
    ids = notice_ids_live_for_motif(motif=ticket.motif)
    if ids:
        IncidentNotice.tickets.through.objects.bulk_create(
            [
                IncidentNotice.tickets.through(incidentnotice_id=pk, ticket_id=ticket.pk)
                for pk in ids
            ],
            ignore_conflicts=True,
        )
        ticket_event_record(ticket=ticket, kind=EventKind.NOTICE_LINKED, data={"notice_ids": ids})
    return ids


def on_ticket_created(sender: Any, *, ticket: Ticket, **kwargs: Any) -> None:
    """Receiver of ``tickets.signals.ticket_created`` (connected in ``BackofficeConfig``)."""
    notice_link_ticket(ticket=ticket)


def notice_resolve_linked_tickets(*, notice: IncidentNotice, actor: User, body: str) -> dict:
    """Reply to and resolve, at once, the open tickets linked to ``notice`` that ``actor``
    works on (an agent: its queues; a supervisor: all).

    One transaction: every reply and status change goes through the ticket services (so
    each timeline gets its "reply sent" and "status changed" events, the first reply stamps
    the first-response time, and each reply is e-mailed by the worker once, after commit).
    If any ticket fails, nothing is written and nothing is sent. Linked tickets whose state
    cannot move to "résolu" (already resolved or closed, or refused by the state machine)
    are skipped and reported; open linked tickets outside the actor's queues are only
    counted. Returns the counts (and the skipped references)."""
    body = (body or "").strip()
    if not body:
        raise NoticeError(_("La réponse est vide."))
    with transaction.atomic():
        locked_notice = IncidentNotice.objects.select_for_update().get(pk=notice.pk)
        linked_ids = IncidentNotice.tickets.through.objects.filter(
            incidentnotice_id=locked_notice.pk
        ).values("ticket_id")
        # Locked in id order, as the tickets' bulk operations do, so the two never deadlock.
        tickets = list(Ticket.objects.select_for_update().filter(pk__in=linked_ids).order_by("pk"))
        resolved: list[str] = []
        skipped: list[str] = []
        not_accessible = 0
        for ticket in tickets:
            if not access.can_see_queue(actor, ticket.queue_id, fresh=True):
                if ticket.is_open:
                    not_accessible += 1
                continue
            if Status.RESOLU not in STATUS_TRANSITIONS[ticket.status]:
                skipped.append(ticket.reference)
                continue
            ticket_reply(ticket=ticket, actor=actor, body=body)
            ticket_change_status(ticket=ticket, actor=actor, new_status=Status.RESOLU)
            resolved.append(ticket.reference)
        counts = {
            "resolved": len(resolved),
            "skipped": len(skipped),
            "not_accessible": not_accessible,
            "skipped_references": skipped,
        }
        _record(locked_notice, "linked_tickets_resolved", actor, {**counts, "body": body})
    return counts
