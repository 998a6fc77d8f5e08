"""CSV and XLSX exports of a filtered ticket list.

Every text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, or a tab / carriage return before one) is prefixed with a quote: requesters
type these fields, and an agent opening the export must not run what they typed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

import tablib
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from tickets.models import Motif, Priority, Status

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# XLSX is built in memory by tablib: past this many rows, use the CSV export.
XLSX_MAX_ROWS = 50_000

COLUMNS = [
    ("reference", "Référence"),
    ("status", "Statut"),
    ("priority", "Priorité"),
    ("motif", "Motif"),
    ("queue__name", "File"),
    ("assignee__email", "Assigné à"),
    ("siret", "SIRET"),
    ("denomination", "Dénomination"),
    ("requester_name", "Demandeur"),
    ("email", "Adresse électronique"),
    ("phone", "Téléphone"),
    ("created_at", "Reçu le"),
    ("first_response_at", "Première réponse"),
    ("resolved_at", "Résolu le"),
    ("sla_first_response_due", "Échéance de première réponse"),
    ("sla_resolution_due", "Échéance de résolution"),
]
_LABELS = {
    "status": dict(Status.choices),
    "motif": dict(Motif.choices),
    "priority": dict(Priority.choices),
}


def neutralise(value) -> str:
    """The text of one cell, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _rows(qs: QuerySet) -> Iterator[list[str]]:
    fields = [name for name, _label in COLUMNS]
    for values in qs.order_by("created_at", "id").values_list(*fields).iterator(chunk_size=2000):
        row = []
        for name, value in zip(fields, values, strict=True):
            if name in _LABELS and value is not None:
                value = _LABELS[name].get(value, value)
            row.append(neutralise(value))
        yield row


class _Echo:
    def write(self, value):
        return value


def _csv_lines(qs: QuerySet) -> Iterable[str]:
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff"  # BOM: spreadsheet software then reads the file as UTF-8.
    yield writer.writerow([label for _name, label in COLUMNS])
    for row in _rows(qs):
        yield writer.writerow(row)


def _filename(stem: str, ext: str) -> str:
    return f"{stem}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{ext}"


def export_csv(qs: QuerySet, *, stem: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "csv")}"'
    return response


def export_xlsx(qs: QuerySet, *, stem: str) -> HttpResponse:
    dataset = tablib.Dataset(headers=[label for _name, label in COLUMNS], title="Tickets")
    for index, row in enumerate(_rows(qs)):
        if index >= XLSX_MAX_ROWS:
            break
        dataset.append(row)
    response = HttpResponse(
        dataset.export("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "xlsx")}"'
    return response
