"""Writes on saved views. The owner names, renames and deletes their views; a supervisor
shares their own view with a queue (its members see it, read-only). Every write refreshes
the actor's navigation at once (colleagues' catch up within a few seconds)."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict

from accounts.staff.models import User
from tickets import access
from tickets.exceptions import TicketError, TicketNotFound
from tickets.models import Queue
from worker.text import has_forbidden

from ..filters import TicketFilter
from .models import SavedView, SavedViewScope
from .selectors import SORT_PARAM, saved_views_nav_forget


class SavedViewForbidden(TicketError):
    """The actor sees the view but may not change it (a view shared with their queue)."""


# Bounds on what a view keeps (the filters have a few values each, of a few words).
MAX_VALUES = 20
MAX_VALUE_LENGTH = 200


def saved_view_params(query: QueryDict) -> dict[str, list[str]]:
    """What a view keeps of a list's GET parameters: the filters it knows and the sort,
    without empty values, page cursors, or what the database refuses (a NUL byte)."""
    known = set(TicketFilter.base_filters) | {SORT_PARAM}
    params: dict[str, list[str]] = {}
    for key in sorted(known):
        values = [
            v[:MAX_VALUE_LENGTH] for v in query.getlist(key) if v.strip() and not has_forbidden(v)
        ][:MAX_VALUES]
        if values:
            params[key] = values
    return params


def _check_owner(view: SavedView, actor: User) -> None:
    if view.owner_id != actor.pk:
        raise SavedViewForbidden("Seul l'auteur de cette vue peut la modifier.")


@transaction.atomic
def saved_view_create(
    *, owner: User, name: str, scope: str, queue: Queue | None, query: QueryDict
) -> SavedView:
    if scope == SavedViewScope.QUEUE:
        if queue is None or not access.can_see_queue(owner, queue.pk):
            raise TicketNotFound(str(access.QUEUE_NOT_FOUND))
    else:
        queue = None
    view = SavedView.objects.create(
        owner=owner, name=name, scope=scope, queue=queue, params=saved_view_params(query)
    )
    saved_views_nav_forget(user=owner)
    return view


def saved_view_rename(*, view: SavedView, actor: User, name: str) -> SavedView:
    _check_owner(view, actor)
    view.name = name
    view.save(update_fields=["name", "updated_at"])
    saved_views_nav_forget(user=actor)
    return view


def saved_view_delete(*, view: SavedView, actor: User) -> None:
    _check_owner(view, actor)
    view.delete()
    saved_views_nav_forget(user=actor)


def saved_view_share(*, view: SavedView, actor: User, queue: Queue | None) -> SavedView:
    """Share the view with ``queue`` (``None``: stop sharing). Supervisors only; a queue's
    view can only be shared with that queue (its members are who can open it)."""
    _check_owner(view, actor)
    if not actor.is_supervisor:
        raise SavedViewForbidden("Seuls les superviseurs partagent une vue avec une file.")
    if queue is not None:
        if not access.can_see_queue(actor, queue.pk):
            raise TicketNotFound(str(access.QUEUE_NOT_FOUND))
        if view.scope == SavedViewScope.QUEUE and view.queue_id != queue.pk:
            raise SavedViewForbidden(
                "Une vue d'une file ne se partage qu'avec cette file : ses agents seuls "
                "en voient les tickets."
            )
    view.shared_with = queue
    view.save(update_fields=["shared_with", "updated_at"])
    saved_views_nav_forget(user=actor)
    return view
