"""Signals the establishments app sends, for the apps above it (which it never imports).

``registry_closed``
    Sent by the registry import (``establishments.services.registry_import``, run by
    ``manage.py import_sirene``) once per batch in which establishments went from active to
    closed: ``sender`` is ``RegistryEstablishment``, ``sirets`` a ``frozenset`` of the
    SIRETs that this batch turned from "A" to "F", either in the registry (the stored row
    said "A", the file says "F") or on a known establishment (``Establishment.registry_status``
    was "A"). A batch without such a SIRET sends nothing. A SIRET newly inserted as closed is
    not a closure: nobody could have relied on it being active.

    It is sent inside the batch's transaction, after the batch's registry rows and the known
    establishments' ``registry_status`` are written: a receiver's database writes (flagging
    a pending reassignment, say) commit or roll back with the batch, and a receiver that
    raises stops the import (that batch rolls back; earlier batches stay). A receiver that
    needs a side effect outside the database (an e-mail, a task) puts it behind
    ``transaction.on_commit`` or in the outbox. Receivers get at most one batch of SIRETs at
    a time (``--batch-size``) and should act on them with set-based queries.
"""

from __future__ import annotations

from django.dispatch import Signal

registry_closed = Signal()
