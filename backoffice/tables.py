"""The ticket table of the back-office lists. Rendered by a lean template
(``backoffice/tickets/_table.html``): the default django-tables2 template costs tens of
milliseconds for one page (STACK.md). Sorting and pagination are done by the selectors
(keyset), so the table itself never orders or paginates."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from tickets.models import Motif, Priority, Status, Ticket


def short_datetime(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")


def compact_datetime(value, now) -> str:
    """A date that fits a narrow column: "02/12 14:05" this year, "02/12/2025" before, the
    full date and time in a tooltip and in ``datetime`` for assistive technologies."""
    local = timezone.localtime(value)
    text = (
        local.strftime("%d/%m %H:%M")
        if local.year == timezone.localtime(now).year
        else local.strftime("%d/%m/%Y")
    )
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', local.isoformat(), short_datetime(value), text
    )


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


class TicketTable(tables.Table):
    select = tables.Column(empty_values=(), verbose_name="Sélection", orderable=False)
    reference = tables.Column(verbose_name="Référence")
    status = tables.Column(verbose_name="Statut")
    priority = tables.Column(verbose_name="Priorité")
    motif = tables.Column(verbose_name="Motif")
    requester_name = tables.Column(verbose_name="Demandeur")
    siret = tables.Column(verbose_name="SIRET")
    queue = tables.Column(verbose_name="File", accessor="queue__name")
    assignee = tables.Column(verbose_name="Assigné à", default="—")
    created_at = tables.Column(verbose_name="Reçu le")
    updated_at = tables.Column(verbose_name="Modifié le")
    sla = tables.Column(verbose_name="Échéance", empty_values=(), orderable=False)

    class Meta:
        model = Ticket
        fields = []
        orderable = False
        template_name = "backoffice/tickets/_table.html"

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        # One reverse() for the table instead of one per row.
        self.detail_url_prefix = reverse("backoffice:ticket_detail", args=[0])[: -len("0/")]
        # Labels resolved once per table: ``get_FOO_display`` resolves a lazy translation
        # for every cell, a measurable share of a page.
        self.labels = {
            "status": {value: str(label) for value, label in Status.choices},
            "motif": {value: str(label) for value, label in Motif.choices},
            "priority": {value: str(label) for value, label in Priority.choices},
        }

    def fast_rows(self) -> list[list[str]]:
        """The cells of every row, by the same ``render_*`` methods, without
        django-tables2's per-cell machinery (signature inspection and accessor resolution
        per cell cost most of a page's time)."""
        renderers = [getattr(self, f"render_{column.name}") for column in self.columns]
        return [[render(record) for render in renderers] for record in self.data]

    def render_select(self, record):
        return format_html(
            '<div class="fr-checkbox-group fr-checkbox-group--sm">'
            '<input type="checkbox" name="tickets" value="{}" id="sel-{}" form="bulk-form">'
            '<label class="fr-label" for="sel-{}"><span class="fr-sr-only">{}</span></label>'
            "</div>",
            record.pk,
            record.pk,
            record.pk,
            record.reference,
        )

    def render_reference(self, record):
        link = format_html(
            '<a class="bo-row-link" href="{}{}/">{}</a>',
            self.detail_url_prefix,
            record.pk,
            record.reference,
        )
        if record.requester_unread_at is None:
            return link
        # The requester answered and the agent in charge has not opened the ticket since.
        return format_html(
            '{} <p class="fr-badge fr-badge--sm fr-badge--new bo-unread">Réponse non lue</p>', link
        )

    def render_status(self, record):
        return format_html(
            '<p class="fr-badge fr-badge--sm fr-badge--{}">{}</p>',
            STATUS_BADGES.get(record.status, ""),
            self.labels["status"].get(record.status, record.status),
        )

    def render_priority(self, record):
        return self.labels["priority"].get(record.priority, record.priority)

    def render_motif(self, record):
        return self.labels["motif"].get(record.motif, record.motif)

    def render_assignee(self, record):
        return str(record.assignee) if record.assignee_id else "—"

    def render_requester_name(self, record):
        return record.requester_name

    def render_siret(self, record):
        return record.siret

    def render_queue(self, record):
        return record.queue.name

    def render_created_at(self, record):
        return compact_datetime(record.created_at, self.now)

    def render_updated_at(self, record):
        return compact_datetime(record.updated_at, self.now)

    def render_sla(self, record):
        due = None
        if record.first_response_at is None and record.sla_first_response_due:
            due = record.sla_first_response_due
        elif record.sla_resolution_due:
            due = record.sla_resolution_due
        if due is None or not record.is_open:
            return "—"
        text = compact_datetime(due, self.now)
        if due < self.now:
            return format_html(
                '<p class="fr-badge fr-badge--sm fr-badge--error fr-badge--no-icon bo-late">'
                "En retard&nbsp;{}</p>",
                text,
            )
        return text
