"""The access rule, written once: who may see which queue, and so which tickets and
everything that hangs off a ticket (its timeline, verifications, reassignments, exports,
dashboard rows).

* An agent sees the queues it is a member of; a supervisor or an admin sees every queue.
* An anonymous or inactive user sees nothing.
* Outside one's queues, a ticket (or a queue, or a reassignment) does not exist: callers
  answer 404 (``TicketNotFound``), never 403, so that ids reveal nothing.

Every page, API operation, service and selector that reads or writes such an object goes
through here (in the manner of Zulip's ``access_stream_by_id``). Pages and selectors use
the per-request memo (``queue_ids_for``); services that hold a row lock ask the database
afresh (``fresh=True``), so a membership removed a second ago is honoured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from worker.text import has_forbidden

from .exceptions import TicketNotFound
from .models import Queue, Ticket

if TYPE_CHECKING:
    from accounts.staff.models import User

M = TypeVar("M", bound=Model)

TICKET_NOT_FOUND = _("Ce ticket n'existe pas ou ne vous est pas accessible.")
QUEUE_NOT_FOUND = _("Cette file n'existe pas ou ne vous est pas accessible.")
TICKETS_NOT_FOUND = _("Un ou plusieurs tickets n'existent pas ou ne vous sont pas accessibles.")

_MEMO = "_access_queues"


def _is_staff_user(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def sees_every_queue(user: User) -> bool:
    """Supervisors and admins work on every queue."""
    return _is_staff_user(user) and user.is_supervisor


def queues_for(user: User) -> list[Queue]:
    """The queues ``user`` works on, by name. Memoised on the user object: a request asks
    several times (navigation, filters, lists)."""
    cached = getattr(user, _MEMO, None)
    if cached is None:
        if not _is_staff_user(user):
            cached = []
        else:
            qs = Queue.objects.only("pk", "slug", "name", "is_default").order_by("name")
            if not user.is_supervisor:
                qs = qs.filter(members=user)
            cached = list(qs)
        setattr(user, _MEMO, cached)
    return cached


def queue_ids_for(user: User) -> list[int]:
    return [queue.pk for queue in queues_for(user)]


def forget(user: User) -> None:
    """Drop the memo (after the user's memberships changed in this request)."""
    if hasattr(user, _MEMO):
        delattr(user, _MEMO)


def can_see_queue(user: User, queue_id: int, *, fresh: bool = False) -> bool:
    """Whether ``user`` works on the queue. ``fresh``: ask the database, not the memo
    (services call it under their row lock)."""
    if not _is_staff_user(user):
        return False
    if user.is_supervisor:
        return True
    if not fresh:
        return queue_id in queue_ids_for(user)
    return Queue.members.through.objects.filter(queue_id=queue_id, user_id=user.pk).exists()


def queue_for(user: User, *, slug: str) -> Queue:
    for queue in queues_for(user):
        if queue.slug == slug:
            return queue
    raise TicketNotFound(str(QUEUE_NOT_FOUND))


def queue_visible_q(user: User, *, field: str = "queue_id", fresh: bool = False) -> Q:
    """A filter on ``field`` (a queue id, e.g. ``"ticket__queue_id"``) that keeps the rows
    of the queues ``user`` works on. For a supervisor: no restriction. ``fresh`` uses a
    subquery on the membership table instead of the memo."""
    if not _is_staff_user(user):
        return Q(pk__in=[])
    if user.is_supervisor:
        return Q()
    if fresh:
        members = Queue.members.through.objects.filter(user_id=user.pk).values("queue_id")
        return Q(**{f"{field}__in": members})
    return Q(**{f"{field}__in": queue_ids_for(user)})


def _lookup_q(user: User, field: str) -> Q:
    """For one-object lookups: the memo when this request already loaded it, otherwise a
    subquery on the membership table (one query for the lookup, instead of two)."""
    return queue_visible_q(user, field=field, fresh=getattr(user, _MEMO, None) is None)


def tickets_for(user: User, *, fresh: bool = False) -> QuerySet[Ticket]:
    """The tickets ``user`` may see."""
    return Ticket.objects.filter(queue_visible_q(user, fresh=fresh))


def scope(qs: QuerySet[M], user: User, *, ticket_field: str = "ticket") -> QuerySet[M]:
    """Restrict a queryset of rows that hang off a ticket (reassignments, verifications,
    documents…) to the tickets ``user`` may see."""
    return qs.filter(_lookup_q(user, f"{ticket_field}__queue_id"))


def ticket_for(
    user: User,
    *,
    pk: int | None = None,
    reference: str | None = None,
    select_related: Iterable[str] = ("queue", "assignee", "establishment"),
) -> Ticket:
    """The ticket if ``user`` may see it; ``TicketNotFound`` otherwise (missing and
    forbidden look the same)."""
    if (pk is None) == (reference is None):
        raise ValueError("Give exactly one of pk or reference.")
    if reference is not None and has_forbidden(reference):
        # A reference from a URL: a NUL byte would make the database fail, not miss.
        raise TicketNotFound(str(TICKET_NOT_FOUND))
    lookup: dict[str, int | str] = {"pk": pk} if pk is not None else {"reference": reference or ""}
    ticket = (
        Ticket.objects.filter(_lookup_q(user, "queue_id"))
        .select_related(*select_related)
        .filter(**lookup)
        .first()
    )
    if ticket is None:
        raise TicketNotFound(str(TICKET_NOT_FOUND))
    return ticket


def ticket_lock_for(user: User | None, *, pk: int) -> Ticket:
    """Lock the ticket row (``SELECT … FOR UPDATE``) and check, under the lock and from the
    database, that ``user`` works on its queue. ``user`` None: the system itself (beat,
    the worker), which may touch every ticket. Call inside a transaction."""
    locked = Ticket.objects.select_for_update(of=("self",)).filter(pk=pk).first()
    if locked is None or (
        user is not None and not can_see_queue(user, locked.queue_id, fresh=True)
    ):
        raise TicketNotFound(str(TICKET_NOT_FOUND))
    return locked


def tickets_lock_for(user: User, *, pks: Iterable[int]) -> list[Ticket]:
    """Lock several tickets in id order (so two bulk operations never deadlock) and check
    that ``user`` may work on every one of them: all or nothing."""
    ids = sorted({int(pk) for pk in pks})
    locked = list(
        Ticket.objects.select_for_update()
        .filter(queue_visible_q(user, fresh=True), pk__in=ids)
        .order_by("pk")
    )
    if len(locked) != len(ids):
        raise TicketNotFound(str(TICKETS_NOT_FOUND))
    return locked
