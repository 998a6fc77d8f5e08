"""The ticket table of the back-office lists. Rendered by a lean template
(``backoffice/tickets/_table.html``): the default django-tables2 template costs tens of
milliseconds for one page (STACK.md). Sorting and pagination are done by the selectors
(keyset), so the table itself never orders or paginates."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from tickets.models import Ticket

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
        url = reverse("backoffice:ticket_detail", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, record.reference)

    def render_status(self, record):
        return format_html(
            '<p class="fr-badge fr-badge--sm fr-badge--{}">{}</p>',
            STATUS_BADGES.get(record.status, ""),
            record.get_status_display(),
        )

    def render_priority(self, record):
        return record.get_priority_display()

    def render_motif(self, record):
        return record.get_motif_display()

    def render_assignee(self, record):
        return str(record.assignee)

    def render_created_at(self, value):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")

    def render_updated_at(self, value):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")

    def render_sla(self, record):
        due = None
        if record.first_response_at is None and record.sla_first_response_due:
            due = record.sla_first_response_due
        elif record.sla_resolution_due:
            due = record.sla_resolution_due
        if due is None or not record.is_open:
            return "—"
        text = date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT")
        if due < self.now:
            return format_html(
                '<p class="fr-badge fr-badge--sm fr-badge--error">En retard ({})</p>', text
            )
        return text
