# ruff: noqa: E501 (the former template loops are kept verbatim, long lines included)
"""The ticket page's exchanges, documents and timeline are rendered in Python
(``backoffice.views.ticket_presenters``) instead of template loops, for speed. These tests
render the former template loops, kept here verbatim, next to the presenters and fail on
any difference (whitespace between tags aside): same markup, same escaping of what
requesters and agents typed, same dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.template import Context, Engine
from django.utils import translation

from accounts.staff.models import User
from backoffice.views.ticket_presenters import documents_html, messages_html, timeline_html
from tickets.models import (
    EventKind,
    MessageKind,
    Status,
    Ticket,
    TicketDocument,
    TicketEvent,
    TicketMessage,
)
from tickets.presenters import describe_event

OLD_MESSAGES = """{% load i18n %}
      {% for message in ticket_messages %}
      {% if message.kind == 'repeated_request' %}
      <div class="fr-callout fr-callout--orange-terre-battue fr-mb-2w" data-testid="repeated-request">
        <p class="fr-callout__title fr-text--sm">{{ message.get_kind_display }} — reçue par {% if message.received_via == 'api' %}l'API extranet{% else %}le formulaire public{% endif %}, adresse {{ message.received_from }}, {{ message.created_at|date:"SHORT_DATETIME_FORMAT" }}</p>
        <p class="fr-text--xs fr-mb-1w">Toute personne connaissant le SIRET, le motif et l'adresse peut envoyer ce message : ne le tenez pas pour écrit par le demandeur sans vérification.</p>
        {% if message.received_from != ticket.email %}<p class="fr-badge fr-badge--warning fr-badge--sm" data-testid="address-differs">Adresse différente de celle de la demande ({{ ticket.email }})</p>{% endif %}
      {% else %}
      <div class="fr-callout {% if message.kind == 'note' %}fr-callout--yellow-tournesol{% elif message.kind == 'reply' %}fr-callout--green-emeraude{% endif %} fr-mb-2w">
        <p class="fr-callout__title fr-text--sm">{{ message.get_kind_display }} — {% if message.author %}{{ message.author }}{% else %}{{ ticket.requester_name }}{% endif %}, {{ message.created_at|date:"SHORT_DATETIME_FORMAT" }}</p>
      {% endif %}
        {% if message.body %}<p class="fr-callout__text fr-text--sm bo-pre">{{ message.body }}</p>{% endif %}
        {% if message.attached %}<p class="fr-text--sm">Documents joints : {% for d in message.attached %}<a href="#document-{{ d.pk }}">{{ d.name }}</a>{% if not forloop.last %}, {% endif %}{% endfor %}</p>{% endif %}
      </div>
      {% endfor %}
"""

OLD_TIMELINE = """
        {% for event, text in timeline %}
        <li><time datetime="{{ event.created_at|date:'c' }}">{{ event.created_at|date:"SHORT_DATETIME_FORMAT" }}</time> — {{ text }}{% if event.actor %} <span class="fr-text--xs">par {{ event.actor }}</span>{% endif %}</li>
        {% endfor %}
"""

OLD_DOCUMENTS = """{% load i18n %}
    {% for d in documents %}
    <li id="document-{{ d.pk }}" class="fr-mb-2w">
      <p class="fr-mb-1v"><strong>{{ d.name }}</strong> — {{ d.get_kind_display }} ({{ d.type_label }}, {{ d.size|filesizeformat }}), reçu le {{ d.created_at|date:"SHORT_DATETIME_FORMAT" }} ({{ d.get_source_display|lower }})
        {% if d.status == "rejected" %}<span class="fr-badge fr-badge--sm fr-badge--error">refusé</span>{% else %}<span class="fr-badge fr-badge--sm fr-badge--success">reçu</span>{% endif %}
        {% if d.checked_at %}<span class="fr-badge fr-badge--sm fr-badge--info">vérifié par {{ d.checked_by }}</span>{% endif %}
      </p>
      {% if d.status == "rejected" %}<p class="fr-text--sm fr-mb-1v">Refusé par {{ d.rejected_by }} le {{ d.rejected_at|date:"SHORT_DATETIME_FORMAT" }} : {{ d.rejection_reason }}</p>{% endif %}
      <p class="fr-mb-1v"><a class="fr-link fr-icon-download-line fr-link--icon-left" href="{{ d.links.download }}">Télécharger {{ d.name }}</a></p>
      {% if d.preview_status == "ready" %}
      <details class="fr-mb-1v">
        <summary>Aperçu de {{ d.name }}</summary>
        <img class="bo-preview" loading="lazy" src="{{ d.links.preview }}" alt="Aperçu de {{ d.name }}{% if d.content_type == 'application/pdf' %} (première page){% endif %}">
      </details>
      {% elif d.preview_status == "pending" %}
      <p class="fr-text--xs fr-mb-1v">Aperçu en préparation : rechargez la page dans un instant.</p>
      {% else %}
      <p class="fr-text--xs fr-mb-1v">Aperçu indisponible pour ce fichier : téléchargez-le.</p>
      {% endif %}
      {% if d.status != "rejected" and ticket.is_open %}
      <details>
        <summary>Refuser ce document</summary>
        <form method="post" action="{{ d.links.reject }}">
          {% csrf_token %}
          <div class="fr-input-group">
            <label class="fr-label" for="reject-{{ d.pk }}">Motif du refus <span class="fr-hint-text">Le demandeur le lira dans son espace de suivi.</span></label>
            <input class="fr-input" id="reject-{{ d.pk }}" name="reason" maxlength="2000" required>
          </div>
          <button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary">Refuser le document</button>
        </form>
      </details>
      {% endif %}
    </li>
    {% endfor %}
"""

EVIL = '<script>alert("x")</script> & l\'"ami"'
CSRF = "tok<en>"


def _normalised(html) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


def _old(source: str, **context) -> str:
    engine = Engine.get_default()
    return engine.from_string(source).render(Context({**context, "csrf_token": CSRF}))


def _ticket(status=Status.NOUVEAU) -> Ticket:
    return Ticket(
        pk=7, reference="AP-1", email="demandeur@example.fr", requester_name=EVIL, status=status
    )


AUTHOR = User(pk=3, first_name="Anne", last_name=EVIL, email="anne@asp.fr")
AT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 1 h 30 in Paris


def _messages() -> list[TicketMessage]:
    def message(pk, kind, **kw) -> TicketMessage:
        m = TicketMessage(pk=pk, kind=kind, created_at=AT, **kw)
        m.attached = []
        return m

    rows = [
        message(1, MessageKind.REQUEST, body=EVIL),
        message(2, MessageKind.REPLY, author=AUTHOR, body="Bonjour\n<b>x</b>"),
        message(3, MessageKind.NOTE, author=AUTHOR, body=""),
        message(4, MessageKind.REQUESTER_REPLY, body="ok"),
        message(
            5, MessageKind.REPEATED_REQUEST, body=EVIL, received_from=EVIL, received_via="api"
        ),  # fmt: skip
        message(
            6,
            MessageKind.REPEATED_REQUEST,
            body="",
            received_from="demandeur@example.fr",
            received_via="form",
        ),  # fmt: skip
    ]
    rows[3].attached = [TicketDocument(pk=11, name=EVIL), TicketDocument(pk=12, name="b.pdf")]
    return rows


def _documents() -> list[TicketDocument]:
    def document(pk, **kw) -> TicketDocument:
        values = {"name": EVIL, "kind": "kbis", "source": "followup", "size": 123456,
                  "content_type": "application/pdf", "created_at": AT, **kw}  # fmt: skip
        d = TicketDocument(pk=pk, **values)
        d.links = {
            name: f"/backoffice/tickets/7/documents/{pk}/{name}/?a=1&b=<2>"
            for name in ("download", "preview", "reject")
        }
        return d

    return [
        document(1, preview_status="ready"),
        document(2, preview_status="pending", content_type="image/png", source="api"),
        document(
            3,
            preview_status="unavailable",
            status="rejected",
            rejected_by=AUTHOR,
            rejected_at=AT,
            rejection_reason=EVIL,
        ),  # fmt: skip
        document(
            4, preview_status="ready", content_type="image/jpeg", checked_by=AUTHOR, checked_at=AT
        ),  # fmt: skip
    ]


@pytest.fixture(autouse=True)
def _french():
    with translation.override("fr"):
        yield


def test_it_renders_the_messages_as_the_template_did():
    ticket, rows = _ticket(), _messages()
    new = messages_html(ticket, rows)
    assert _normalised(new) == _normalised(_old(OLD_MESSAGES, ticket=ticket, ticket_messages=rows))
    assert "<script>" not in new
    assert "&lt;script&gt;" in new
    assert 'data-testid="address-differs"' in new


@pytest.mark.parametrize("status", [Status.NOUVEAU, Status.CLOS])
def test_it_renders_the_documents_as_the_template_did(status):
    ticket, rows = _ticket(status), _documents()
    new = documents_html(ticket, rows, CSRF)
    assert _normalised(new) == _normalised(_old(OLD_DOCUMENTS, ticket=ticket, documents=rows))
    assert "<script>" not in new
    assert ("Refuser ce document" in new) == ticket.is_open


def test_it_renders_the_timeline_as_the_template_did():
    events = [
        TicketEvent(
            kind=EventKind.STATUS_CHANGED,
            data={"before": "nouveau", "after": "clos"},
            created_at=AT,
            actor=AUTHOR,
        ),  # fmt: skip
        TicketEvent(kind=EventKind.DOCUMENT_RECEIVED, data={"name": EVIL}, created_at=AT),
    ]
    timeline = [(e, describe_event(e)) for e in events]
    new = timeline_html(timeline)
    assert _normalised(new) == _normalised(_old(OLD_TIMELINE, timeline=timeline))
    assert "<script>" not in new
    assert "2026-03-29T01:30:00+01:00" in new  # local time (Paris), ISO 8601
