"""Moving a row along a state machine declared as a table ``{state: {allowed targets}}``.

Tickets, incident notices and account reassignments each declare their table once, next
to their model. Services (one row, an actor) and sweeps (many rows, beat) both move rows
through the two functions here, so neither can take a path the table does not allow:

* ``transition(obj, to=…)`` checks the table for ``obj``'s current state, then writes with a
  conditional ``UPDATE … WHERE pk = … AND state = <current>``: if another process moved the
  row in between, nothing is written and ``StaleTransition`` is raised;
* ``transition_rows(qs, to=…)`` moves every row of ``qs`` whose current state may go to
  ``to`` with one conditional UPDATE and returns the row count (what a sweep needs to know
  whether it, and not a twin sweep, made the move).

``UPDATE`` bypasses ``auto_now``: callers pass the timestamps they want written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from .errors import DomainError

M = TypeVar("M", bound=Model)
Table = Mapping[str, Collection[str]]


class TransitionRefused(DomainError):
    """The table does not allow this move from the current state."""


class StaleTransition(DomainError):
    """The row's state changed between reading it and writing it."""


def sources_of(table: Table, to: str) -> list[str]:
    """The states from which ``to`` may be reached."""
    return [source for source, targets in table.items() if to in targets]


def transition(
    obj: Model,
    *,
    to: str,
    table: Table,
    field: str = "state",
    refused: Callable[[str, str], DomainError] | None = None,
    **values: Any,
) -> None:
    """Move ``obj`` to ``to`` (and write ``values`` with it), in the database and in memory.

    ``refused(source, to)`` builds the error raised when the table forbids the move (a
    French message fit for the user); the default one is generic.
    """
    source = getattr(obj, field)
    if to not in table.get(source, ()):
        if refused is not None:
            raise refused(source, to)
        raise TransitionRefused(_("Cette opération n'est plus possible dans l'état actuel."))
    moved = (
        type(obj)
        ._default_manager.filter(pk=obj.pk, **{field: source})
        .update(**{field: to}, **values)
    )
    if moved != 1:
        raise StaleTransition(_("Cet élément a été modifié entre-temps : rechargez la page."))
    setattr(obj, field, to)
    for name, value in values.items():
        setattr(obj, name, value)


def transition_rows(
    qs: QuerySet[M], *, to: str, table: Table, field: str = "state", **values: Any
) -> int:
    """Move every row of ``qs`` that the table allows to reach ``to``; return how many
    moved. Rows already moved by someone else are simply not counted."""
    return qs.filter(**{f"{field}__in": sources_of(table, to)}).update(**{field: to}, **values)
