"""Recovery and activation links (DESIGN.md section 7), and the "J'ai oublié…" requests.

Rules kept here, each tested in tests/accounts/test_recovery_links.py:

* the raw token (``secrets.token_urlsafe(32)``: 256 bits) is drawn by the worker at the
  moment it sends the e-mail, and only its SHA-256 is stored; the outbox row carries the
  link's id, never the token, so the token is in no database row and no log;
* a link is bound to one account and one purpose, single use (a conditional UPDATE on
  ``used_at IS NULL`` decides, so two simultaneous uses cannot both win), valid
  ``RECOVERY_LINK_VALIDITY_MINUTES`` from its sending, checked at use;
* a new link revokes the older active ones of the same account and purpose, except, for a
  link asked through "J'ai oublié…" (anyone who knows an identifiant can ask), those issued
  less than ``RECOVERY_LINK_SPARED_MINUTES`` ago: a third party cannot void the link the
  holder has just received; the holder asking again still gets a new one, and using any
  link revokes all the others;
* the per-account limit (``RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR``) is counted under a lock on
  the account's row, so concurrent workers cannot issue more than the limit;
* links are built from ``settings.SITE_BASE_URL``, never from the request's Host header.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.staff.models import secret_digest
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.services import ticket_event_record
from worker import metrics
from worker.models import OutboundEmail, OutboxJob
from worker.services import email_queue, job_queue

from .exceptions import LinkInvalid
from .models import (
    AccountReassignment,
    ExtranetAccount,
    LinkPurpose,
    ObjectionParty,
    ReassignmentState,
    RecoveryLink,
    RecoveryRequestPurpose,
)

if TYPE_CHECKING:
    from accounts.staff.models import User

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_BATCH = 20000
EXPIRY_SWEEP_MAX_BATCHES = 10
# The outbox job kind of a "J'ai oublié…" request, and how long a handled one is kept
# (it holds what the visitor typed).
RECOVERY_REQUEST_JOB = "accounts.recovery_request"
REQUEST_RETENTION = timedelta(days=7)

LANDING_URL_NAMES = {
    LinkPurpose.ACTIVATION: "activation_landing",
    LinkPurpose.PASSWORD_RESET: "reset_landing",
}


token_digest = secret_digest

# The expiry sweep, for the operator: links recorded as expired (counted in each batch's
# transaction) and how long each sweep took.
LINKS_EXPIRED = metrics.counter(
    "apsupport_recovery_links_expired", "Recovery and activation links recorded as expired."
)
LINK_SWEEP_DURATION = metrics.histogram(
    "apsupport_link_sweep_duration_seconds", "Run time of the recovery links' expiry sweep."
)


def _validity() -> timedelta:
    return timedelta(minutes=settings.RECOVERY_LINK_VALIDITY_MINUTES)


def _active_links() -> Q:
    return Q(used_at__isnull=True, revoked_at__isnull=True, expired_recorded_at__isnull=True)


def _record_link_event(link: RecoveryLink, kind: str, extra: dict | None = None) -> None:
    if not link.ticket_id:
        return
    ticket_event_record(
        ticket=link.ticket,
        kind=kind,
        actor=None,
        data={"link_id": link.pk, "purpose": link.purpose, **(extra or {})},
    )


# --- Creating links --------------------------------------------------------------------


def recovery_link_create(
    *,
    account: ExtranetAccount,
    purpose: str,
    template: str,
    context: dict | None = None,
    ticket: Ticket | None = None,
    actor: User | None = None,
    requested_ip_hash: str = "",
    spare_recent: bool = False,
) -> RecoveryLink:
    """Create a link for ``account`` and queue the e-mail that carries it.

    Older active links of the same purpose are revoked; with ``spare_recent`` (a link asked
    by whoever typed the identifiant), not those created or sent less than
    ``RECOVERY_LINK_SPARED_MINUTES`` ago. The token is not drawn here: the worker draws it
    when it sends the e-mail (``secret_link_issue``).
    """
    assert purpose in LinkPurpose.values
    with transaction.atomic():
        now = timezone.now()
        older = RecoveryLink.objects.filter(_active_links(), account=account, purpose=purpose)
        if spare_recent:
            cutoff = now - timedelta(minutes=settings.RECOVERY_LINK_SPARED_MINUTES)
            older = older.exclude(Q(created_at__gt=cutoff) | Q(sent_at__gt=cutoff))
        older.update(revoked_at=now)
        link = RecoveryLink.objects.create(
            account=account,
            purpose=purpose,
            created_at=now,
            expires_at=now + _validity(),
            requested_ip_hash=requested_ip_hash,
            sent_to=account.holder_email,
            ticket=ticket,
            created_by=actor,
        )
        email = email_queue(
            template=template,
            to_email=account.holder_email,
            ticket_id=ticket.pk if ticket is not None else None,
            context={
                "identifiant": account.identifiant,
                "holder_name": account.holder_name,
                "validity_minutes": settings.RECOVERY_LINK_VALIDITY_MINUTES,
                **(context or {}),
                "secret_link": {"kind": "recovery", "id": link.pk},
            },
        )
        RecoveryLink.objects.filter(pk=link.pk).update(email=email)
        link.email = email
    return link


# --- Hooks called by the worker when it sends an e-mail that carries a secret link -----


def secret_link_issue(*, spec: dict) -> dict | None:
    """Draw a fresh token for the link described by ``spec``, store its hash, and return
    the extra template context (``link_url``). None when the link no longer has an
    object (used, revoked, expired, reassignment no longer waiting): the e-mail is then
    not sent.

    Called by ``worker.services.email_deliver`` for each attempt: a retried send gets a
    new token, which voids the one of the attempt that failed.
    """
    raw = secrets.token_urlsafe(32)
    digest = token_digest(raw)
    now = timezone.now()
    if spec.get("kind") == "recovery":
        link = RecoveryLink.objects.filter(pk=spec["id"]).only("purpose").first()
        if link is None:
            return None
        issued = RecoveryLink.objects.filter(
            _active_links(), pk=link.pk, expires_at__gt=now
        ).update(token_hash=digest, expires_at=now + _validity())
        if not issued:
            return None
        path = reverse(LANDING_URL_NAMES[LinkPurpose(link.purpose)], args=[raw])
    elif spec.get("kind") == "objection":
        field = {
            ObjectionParty.PREVIOUS_HOLDER: "previous_holder_objection_hash",
            ObjectionParty.ESTABLISHMENT: "establishment_objection_hash",
        }[spec["party"]]
        issued = AccountReassignment.objects.filter(
            pk=spec["id"], state=ReassignmentState.APPROVED
        ).update(**{field: digest})
        if not issued:
            return None
        path = reverse("objection_landing", args=[raw])
    else:  # pragma: no cover - a programming error
        raise ValueError(f"Unknown secret link kind: {spec!r}")
    return {"link_url": f"{settings.SITE_BASE_URL}{path}"}


def secret_link_sent(*, spec: dict) -> None:
    """Record that the e-mail carrying the link left (in the worker's transaction)."""
    if spec.get("kind") != "recovery":
        return
    now = timezone.now()
    RecoveryLink.objects.filter(pk=spec["id"]).update(sent_at=now)
    link = RecoveryLink.objects.select_related("ticket").filter(pk=spec["id"]).first()
    if link is not None:
        _record_link_event(link, EventKind.LINK_SENT)


# --- Using links -----------------------------------------------------------------------


def recovery_link_find_usable(*, purpose: str, token_hash: str) -> RecoveryLink | None:
    """The link a landing page shows, if it can still be used (read only)."""
    if not token_hash:
        return None
    return (
        RecoveryLink.objects.select_related("account", "account__establishment")
        .filter(
            _active_links(),
            token_hash=token_hash,
            purpose=purpose,
            expires_at__gt=timezone.now(),
            account__is_active=True,
        )
        .first()
    )


def recovery_link_use(*, purpose: str, token_hash: str, new_password: str) -> ExtranetAccount:
    """Set the account's password through a link, once.

    The password must already have passed Django's validators (the form does that). The
    link is claimed by a conditional UPDATE: of two simultaneous uses exactly one changes
    the row, the other gets ``LinkInvalid``. Every session of the account ends, the other
    links are revoked, and the holder is told by e-mail.
    """
    with transaction.atomic():
        now = timezone.now()
        link = recovery_link_find_usable(purpose=purpose, token_hash=token_hash)
        if link is None:
            raise LinkInvalid(_("Ce lien n'est plus valable."))
        claimed = RecoveryLink.objects.filter(
            _active_links(), pk=link.pk, token_hash=token_hash, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            raise LinkInvalid(_("Ce lien n'est plus valable."))
        account = ExtranetAccount.objects.select_for_update().get(pk=link.account_id)
        account.set_password(new_password)
        account.session_generation += 1
        account.password_changed_at = now
        account.save(update_fields=["password", "session_generation", "password_changed_at"])
        RecoveryLink.objects.filter(_active_links(), account=account).update(revoked_at=now)
        email_queue(
            template="extranet_password_changed",
            to_email=account.holder_email,
            context={
                "identifiant": account.identifiant,
                "holder_name": account.holder_name,
                "changed_at": timezone.localtime(now).strftime("%d/%m/%Y à %H:%M"),
            },
        )
        link.used_at = now
        _record_link_event(link, EventKind.LINK_USED)
    logger.info("Recovery link %s used (%s).", link.pk, purpose)
    return account


def recovery_links_revoke_for_account(*, account: ExtranetAccount) -> int:
    return RecoveryLink.objects.filter(_active_links(), account=account).update(
        revoked_at=timezone.now()
    )


# --- "J'ai oublié…" requests -----------------------------------------------------------


def recovery_request_record(*, purpose: str, lookup: str, requested_ip_hash: str) -> None:
    """Record a "J'ai oublié…" request as an outbox job. Does exactly the same work
    whatever ``lookup`` is: no account is looked up here (the worker does it), so neither
    the answer nor its timing nor the work enqueued can tell an account exists. If the
    broker is down, the job waits and beat's outbox sweep hands it over later."""
    assert purpose in RecoveryRequestPurpose.values
    with transaction.atomic():
        job_queue(
            kind=RECOVERY_REQUEST_JOB,
            payload={
                "purpose": purpose,
                "lookup": lookup.strip()[:100],
                "requested_ip_hash": requested_ip_hash,
            },
        )


def _over_account_limit(*, account: ExtranetAccount, purpose: str, since: datetime) -> bool:
    limit = settings.RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR
    if purpose == RecoveryRequestPurpose.PASSWORD:
        sent = RecoveryLink.objects.filter(
            account=account, purpose=LinkPurpose.PASSWORD_RESET, created_at__gte=since
        ).count()
    else:
        sent = OutboundEmail.objects.filter(
            template="extranet_identifiant_reminder",
            context__account_id=account.pk,
            created_at__gte=since,
        ).count()
    return sent >= limit


def recovery_request_process(job: OutboxJob) -> int:
    """Handle one "J'ai oublié…" request in the worker (the outbox runs it once, in its
    transaction): find the matching account(s) and queue the e-mail(s). Returns the number
    of e-mails queued.

    Per-account limit: past ``RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR`` nothing new is sent
    for the hour, and nothing else changes (earlier links stay valid, login works). The
    count and the new link happen under a row lock on the account (``SELECT … FOR UPDATE``
    in the job's transaction), so two workers handling two requests for one account
    count one after the other and the limit holds exactly. A new link spares the pending
    ones issued less than ``RECOVERY_LINK_SPARED_MINUTES`` ago (see ``recovery_link_create``)."""
    purpose = job.context["purpose"]
    lookup = job.context["lookup"]
    requested_ip_hash = job.context.get("requested_ip_hash", "")
    since = timezone.now() - timedelta(hours=1)
    if purpose == RecoveryRequestPurpose.PASSWORD:
        accounts = ExtranetAccount.objects.filter(identifiant=lookup.upper(), is_active=True)
    else:
        accounts = ExtranetAccount.objects.filter(
            establishment__siret=lookup, is_active=True
        ).select_related("establishment")
    queued = 0
    # Locked in id order, so two requests that match several accounts cannot deadlock.
    for account in accounts.select_for_update(of=("self",)).order_by("pk"):
        if _over_account_limit(account=account, purpose=purpose, since=since):
            logger.warning("Per-account limit reached for account %s (%s).", account.pk, purpose)
            continue
        if purpose == RecoveryRequestPurpose.PASSWORD:
            recovery_link_create(
                account=account,
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
                requested_ip_hash=requested_ip_hash,
                spare_recent=True,
            )
        else:
            email_queue(
                template="extranet_identifiant_reminder",
                to_email=account.holder_email,
                context={
                    "account_id": account.pk,
                    "identifiant": account.identifiant,
                    "holder_name": account.holder_name,
                    "denomination": account.establishment.denomination,
                },
            )
        queued += 1
    return queued


# --- The expiry sweep ------------------------------------------------------------------


def recovery_links_expire_sweep(*, batch_size: int = EXPIRY_SWEEP_BATCH) -> int:
    """Record the expiry of links past ``expires_at`` (validity itself is checked at use).

    Bounded batches over the partial index of active links; a ``LINK_EXPIRED`` event on the
    ticket of each link that has one. Returns the number of links recorded.
    """
    started = time.monotonic()
    total = 0
    for _batch in range(EXPIRY_SWEEP_MAX_BATCHES):
        with transaction.atomic():
            now = timezone.now()
            # One statement per batch: UPDATE … WHERE id IN (SELECT id … LIMIT n), the
            # inner SELECT walking the partial index of active links.
            batch = (
                RecoveryLink.objects.filter(_active_links(), expires_at__lte=now)
                .order_by("expires_at")
                .values("pk")[:batch_size]
            )
            # The outer condition again: a second sweep running at the same moment (two
            # beats) waits on the rows' locks, then finds them recorded and skips them.
            recorded = RecoveryLink.objects.filter(
                pk__in=batch, expired_recorded_at__isnull=True
            ).update(expired_recorded_at=now)
            if not recorded:
                break
            # Links that belong to a ticket are few: the batch is the rows stamped ``now``.
            with_ticket = RecoveryLink.objects.filter(
                expired_recorded_at=now, ticket__isnull=False
            ).values_list("pk", "ticket_id", "purpose")
            TicketEvent.objects.bulk_create(
                [
                    TicketEvent(
                        ticket_id=ticket_id,
                        kind=EventKind.LINK_EXPIRED,
                        data={"link_id": pk, "purpose": purpose},
                        created_at=now,
                    )
                    for pk, ticket_id, purpose in with_ticket
                ]
            )
            metrics.inc(LINKS_EXPIRED, recorded)
        total += recorded
        if recorded < batch_size:
            break
    elapsed = time.monotonic() - started
    metrics.quietly("link sweep", lambda: metrics.observe(LINK_SWEEP_DURATION, elapsed))
    if total:
        logger.info("%s recovery link(s) recorded as expired.", total)
    return total
