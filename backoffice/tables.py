"""The ticket table of the back-office lists, rendered as HTML in Python
(``backoffice/queues/_table.html`` prints the rows as they come). django-tables2's default
template costs tens of milliseconds for one page (STACK.md), and even a lean template that
loops over the cells costs a quarter of a list page: every cell goes through the template
engine's variable lookup, escaping and localisation. Here each column is one function that
returns the cell's HTML, user data escaped with ``html.escape`` (what Django's ``escape``
does). Sorting and pagination are done by the selectors (keyset), so the table itself never
orders or paginates."""

from __future__ import annotations

import functools
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from tickets.models import Motif, Priority, Status, Ticket


def _compact_datetime(value: datetime, year: int, zone: ZoneInfo) -> str:
    """A date that fits a narrow column: "02/12 14:05" in ``year``, "02/12/2025" before,
    the full date and time in a tooltip and in ``datetime`` for assistive technologies."""
    # strftime and isoformat of an aware datetime give digits and "/-:+ T": nothing to
    # escape.
    local = value.astimezone(zone)
    text = local.strftime("%d/%m %H:%M") if local.year == year else local.strftime("%d/%m/%Y")
    full = local.strftime("%d/%m/%Y %H:%M")
    return f'<time datetime="{local.isoformat()}" title="{full}">{text}</time>'


# The columns an agent may hide (the selection box, the reference and the status stay).
OPTIONAL_COLUMNS = {
    "priority": "Priorité",
    "motif": "Motif",
    "requester_name": "Demandeur",
    "siret": "SIRET",
    "queue": "File",
    "assignee": "Assigné à",
    "created_at": "Reçu le",
    "updated_at": "Modifié le",
    "sla": "Échéance",
}


# Column → sort key of tickets.selectors.SORTS (the sortable columns).
SORTABLE_COLUMNS = {
    "reference": "reference",
    "priority": "priority",
    "created_at": "created_at",
    "updated_at": "updated_at",
}

STATUS_BADGES = {
    "nouveau": "new",
    "en_cours": "info",
    "en_attente": "warning",
    "resolu": "success",
    "clos": "",
}


UNREAD_BADGE = ' <p class="fr-badge fr-badge--sm fr-badge--new bo-unread">Réponse non lue</p>'


class Column:
    __slots__ = ("name", "header")

    def __init__(self, name: str, header: str):
        self.name = name
        self.header = header


# Every column, in order (``OPTIONAL_COLUMNS`` may be hidden by the agent).
COLUMNS: tuple[Column, ...] = (
    Column("select", "Sélection"),
    Column("reference", "Référence"),
    Column("status", "Statut"),
    *(Column(name, header) for name, header in OPTIONAL_COLUMNS.items()),
)


@functools.cache
def _labels(language: str | None) -> dict[str, dict[str, str]]:
    """The choices' labels, resolved once per language: ``get_FOO_display`` resolves a
    lazy translation for every cell, a measurable share of a page."""
    return {
        "status": {value: str(label) for value, label in Status.choices},
        "motif": {value: str(label) for value, label in Motif.choices},
        "priority": {value: str(label) for value, label in Priority.choices},
    }


class TicketTable:
    """The visible columns of a list (all of ``COLUMNS`` but ``exclude``) and the HTML of
    its rows. ``now`` decides what is late and which dates show their year."""

    def __init__(self, data, *, now: datetime | None = None, exclude=()):
        self.data = data
        self.now = now or timezone.now()
        self.columns = [column for column in COLUMNS if column.name not in exclude]
        self.zone = timezone.get_current_timezone()
        self.year = self.now.astimezone(self.zone).year
        self.labels = _labels(translation.get_language())
        # One reverse() for the table instead of one per row.
        self.detail_url_prefix = reverse("backoffice:ticket_detail", args=[0])[: -len("0/")]

    def rows_html(self) -> list[SafeString]:
        """One ``<tr>`` per ticket, its cells in the order of ``columns``."""
        cells = [getattr(self, f"cell_{column.name}") for column in self.columns]
        return [
            mark_safe("<tr><td>" + "</td><td>".join([cell(r) for cell in cells]) + "</td></tr>")
            for r in self.data
        ]

    # One method per column: the cell's HTML (a str, already escaped).

    def cell_select(self, record: Ticket) -> str:
        pk = record.pk
        return (
            '<div class="fr-checkbox-group fr-checkbox-group--sm">'
            f'<input type="checkbox" name="tickets" value="{pk}" id="sel-{pk}" form="bulk-form">'
            f'<label class="fr-label" for="sel-{pk}"><span class="fr-sr-only">'
            f"{escape(str(record.reference))}</span></label></div>"
        )

    def cell_reference(self, record: Ticket) -> str:
        link = (
            f'<a class="bo-row-link" href="{escape(self.detail_url_prefix)}{record.pk}/">'
            f"{escape(str(record.reference))}</a>"
        )
        if record.requester_unread_at is None:
            return link
        # The requester answered and the agent in charge has not opened the ticket since.
        return link + UNREAD_BADGE

    def cell_status(self, record: Ticket) -> str:
        badge = STATUS_BADGES.get(record.status, "")
        label = self.labels["status"].get(record.status, str(record.status))
        return f'<p class="fr-badge fr-badge--sm fr-badge--{badge}">{escape(label)}</p>'

    def cell_priority(self, record: Ticket) -> str:
        return escape(self.labels["priority"].get(record.priority, str(record.priority)))

    def cell_motif(self, record: Ticket) -> str:
        return escape(self.labels["motif"].get(record.motif, str(record.motif)))

    def cell_assignee(self, record: Ticket) -> str:
        return escape(str(record.assignee)) if record.assignee_id else "—"

    def cell_requester_name(self, record: Ticket) -> str:
        return escape(str(record.requester_name))

    def cell_siret(self, record: Ticket) -> str:
        return escape(str(record.siret))

    def cell_queue(self, record: Ticket) -> str:
        return escape(str(record.queue.name))

    def cell_created_at(self, record: Ticket) -> str:
        return _compact_datetime(record.created_at, self.year, self.zone)

    def cell_updated_at(self, record: Ticket) -> str:
        return _compact_datetime(record.updated_at, self.year, self.zone)

    def cell_sla(self, record: Ticket) -> str:
        due = None
        if record.first_response_at is None and record.sla_first_response_due:
            due = record.sla_first_response_due
        elif record.sla_resolution_due:
            due = record.sla_resolution_due
        if due is None or not record.is_open:
            return "—"
        text = _compact_datetime(due, self.year, self.zone)
        if due < self.now:
            return (
                '<p class="fr-badge fr-badge--sm fr-badge--error fr-badge--no-icon bo-late">'
                f"En retard&nbsp;{text}</p>"
            )
        return text
