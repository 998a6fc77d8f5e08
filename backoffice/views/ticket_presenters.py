"""The ticket page's repeated blocks (exchanges, documents, timeline), rendered once per
item in Python with ``format_html``.

Why not template loops: with 20 messages and 20 documents the template engine spent about
10 ms of CPU on these three loops alone (about 0.3 ms per document: some 40 nodes, a
``{% csrf_token %}``, date and size filters each). Here every value is escaped by
``format_html`` exactly as ``{{ … }}`` escapes it, dates are formatted as the ``date``
filter formats them (local time, ``SHORT_DATETIME_FORMAT``), and the markup is the one the
templates had: ``tests/backoffice/test_ticket_page_presenters.py`` renders the former
template loops next to these functions and fails on any difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateformat import format as date_format_raw
from django.utils.formats import get_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from tickets.models import MessageKind


def _when(value: datetime | None) -> str:
    """``{{ value|date:"SHORT_DATETIME_FORMAT" }}``: local time, the locale's format."""
    if value is None:
        return ""
    return date_format_raw(timezone.localtime(value), get_format("SHORT_DATETIME_FORMAT"))


def _join(parts: Iterable[str]) -> SafeString:
    # Each part is already a SafeString from format_html.
    return mark_safe("".join(parts))  # noqa: S308


def timeline_html(timeline) -> SafeString:
    """The ``<li>`` of the timeline: ``timeline`` is [(event, French line)]."""
    parts = []
    for event, text in timeline:
        at = timezone.localtime(event.created_at)
        actor = event.actor
        parts.append(
            format_html(
                '<li><time datetime="{}">{}</time> — {}{}</li>\n',
                date_format_raw(at, "c"),
                date_format_raw(at, get_format("SHORT_DATETIME_FORMAT")),
                text,
                format_html(' <span class="fr-text--xs">par {}</span>', actor) if actor else "",
            )
        )
    return _join(parts)


_REPEATED_WARNING = (
    '<p class="fr-text--xs fr-mb-1w">Toute personne connaissant le SIRET, le motif et '
    "l'adresse peut envoyer ce message : ne le tenez pas pour écrit par le demandeur sans "
    "vérification.</p>"
)
# Literal text of the page (the template did not escape its own apostrophes).
_VIA_API = mark_safe("l'API extranet")  # noqa: S308
_VIA_FORM = mark_safe("le formulaire public")  # noqa: S308
_CALLOUT_COLOUR = {
    MessageKind.NOTE: "fr-callout--yellow-tournesol",
    MessageKind.REPLY: "fr-callout--green-emeraude",
}


def messages_html(ticket, ticket_messages) -> SafeString:
    """The exchanges: one callout per message, with the documents attached to it
    (``message.attached``, set by the view)."""
    parts = []
    for message in ticket_messages:
        when = _when(message.created_at)
        if message.kind == MessageKind.REPEATED_REQUEST:
            via = _VIA_API if message.received_via == "api" else _VIA_FORM
            head = format_html(
                '<div class="fr-callout fr-callout--orange-terre-battue fr-mb-2w" '
                'data-testid="repeated-request">\n'
                '<p class="fr-callout__title fr-text--sm">{} — reçue par {}, adresse {}, {}</p>\n'
                "{}\n{}",
                message.get_kind_display(),
                via,
                message.received_from,
                when,
                mark_safe(_REPEATED_WARNING),  # noqa: S308 (a constant of this module)
                format_html(
                    '<p class="fr-badge fr-badge--warning fr-badge--sm" '
                    'data-testid="address-differs">Adresse différente de celle de la demande '
                    "({})</p>",
                    ticket.email,
                )
                if message.received_from != ticket.email
                else "",
            )
        else:
            head = format_html(
                '<div class="fr-callout {} fr-mb-2w">\n'
                '<p class="fr-callout__title fr-text--sm">{} — {}, {}</p>',
                _CALLOUT_COLOUR.get(message.kind, ""),
                message.get_kind_display(),
                message.author if message.author else ticket.requester_name,
                when,
            )
        body = (
            format_html('<p class="fr-callout__text fr-text--sm bo-pre">{}</p>', message.body)
            if message.body
            else ""
        )
        attached = message.attached
        documents = (
            format_html(
                '<p class="fr-text--sm">Documents joints : {}</p>',
                mark_safe(  # noqa: S308 (format_html_join escapes each name)
                    format_html_join(
                        ", ", '<a href="#document-{}">{}</a>', ((d.pk, d.name) for d in attached)
                    )
                ),
            )
            if attached
            else ""
        )
        parts.append(format_html("{}\n{}\n{}\n</div>\n", head, body, documents))
    return _join(parts)


def documents_html(ticket, documents, csrf_token: str) -> SafeString:
    """The requester's documents: one ``<li>`` each (links prepared by the view in
    ``document.links``), with the rejection form while the ticket is open."""
    csrf_input = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf_token
    )
    is_open = ticket.is_open
    parts = []
    for d in documents:
        rejected = d.status == "rejected"
        badges = format_html(
            '<span class="fr-badge fr-badge--sm fr-badge--{}">{}</span>',
            "error" if rejected else "success",
            "refusé" if rejected else "reçu",
        )
        if d.checked_at:
            badges = format_html(
                '{}\n<span class="fr-badge fr-badge--sm fr-badge--info">vérifié par {}</span>',
                badges,
                d.checked_by,
            )
        rejection = (
            format_html(
                '<p class="fr-text--sm fr-mb-1v">Refusé par {} le {} : {}</p>',
                d.rejected_by,
                _when(d.rejected_at),
                d.rejection_reason,
            )
            if rejected
            else ""
        )
        if d.preview_status == "ready":
            preview = format_html(
                '<details class="fr-mb-1v">\n<summary>Aperçu de {}</summary>\n'
                '<img class="bo-preview" loading="lazy" src="{}" alt="Aperçu de {}{}">\n'
                "</details>",
                d.name,
                d.links["preview"],
                d.name,
                " (première page)" if d.content_type == "application/pdf" else "",
            )
        elif d.preview_status == "pending":
            preview = mark_safe(
                '<p class="fr-text--xs fr-mb-1v">Aperçu en préparation : rechargez la page '
                "dans un instant.</p>"
            )
        else:
            preview = mark_safe(
                '<p class="fr-text--xs fr-mb-1v">Aperçu indisponible pour ce fichier : '
                "téléchargez-le.</p>"
            )
        reject_form = (
            format_html(
                "<details>\n<summary>Refuser ce document</summary>\n"
                '<form method="post" action="{}">\n{}\n<div class="fr-input-group">\n'
                '<label class="fr-label" for="reject-{}">Motif du refus <span '
                'class="fr-hint-text">Le demandeur le lira dans son espace de suivi.</span>'
                "</label>\n"
                '<input class="fr-input" id="reject-{}" name="reason" maxlength="2000" required>'
                "\n</div>\n"
                '<button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary">Refuser le '
                "document</button>\n</form>\n</details>",
                d.links["reject"],
                csrf_input,
                d.pk,
                d.pk,
            )
            if not rejected and is_open
            else ""
        )
        parts.append(
            format_html(
                '<li id="document-{}" class="fr-mb-2w">\n'
                '<p class="fr-mb-1v"><strong>{}</strong> — {} ({}, {}), reçu le {} ({})\n{}\n</p>\n'
                "{}\n"
                '<p class="fr-mb-1v"><a class="fr-link fr-icon-download-line '
                'fr-link--icon-left" href="{}">Télécharger {}</a></p>\n'
                "{}\n{}\n</li>\n",
                d.pk,
                d.name,
                d.get_kind_display(),
                d.type_label,
                filesizeformat(d.size),
                _when(d.created_at),
                str(d.get_source_display()).lower(),
                badges,
                rejection,
                d.links["download"],
                d.name,
                preview,
                reject_form,
            )
        )
    return _join(parts)
