"""The list pages' ticket rows, built as HTML in Python (backoffice.tables): the exact
markup of a row, and user data escaped as the template engine would."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from tests.factories import TicketFactory, UserFactory
from tickets.models import Priority, Status

pytestmark = pytest.mark.django_db

QUEUE_URL = "/backoffice/files/habilitation/"


def rows(response) -> list[str]:
    body = response.content.decode()
    tbody = body[body.index("<tbody>") : body.index("</tbody>")]
    return re.findall(r"<tr>.*?</tr>", tbody)


@freeze_time("2026-03-10 09:00:00")
def test_a_row_is_rendered_exactly(agent, habilitation_queue, verified_client):
    colleague = UserFactory(first_name="Léa", last_name="Martin", queues=[habilitation_queue])
    ticket = TicketFactory(
        reference="AP-2026-000123",
        siret="73282932000074",
        requester_name="Claire Dupont",
        status=Status.EN_COURS,
        priority=Priority.HIGH,
        assignee=colleague,
        created_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),  # 2026 in Paris
        sla_first_response_due=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),  # late
        requester_unread_at=datetime(2026, 3, 9, 7, 0, tzinfo=UTC),
    )
    # On a queue page: no "File" column; "Modifié le" is hidden by default.
    [row] = rows(verified_client(agent).get(QUEUE_URL + "?status=en_cours"))
    pk = ticket.pk
    assert row == (
        "<tr>"
        '<td><div class="fr-checkbox-group fr-checkbox-group--sm">'
        f'<input type="checkbox" name="tickets" value="{pk}" id="sel-{pk}" form="bulk-form">'
        f'<label class="fr-label" for="sel-{pk}"><span class="fr-sr-only">AP-2026-000123</span>'
        "</label></div></td>"
        f'<td><a class="bo-row-link" href="/backoffice/tickets/{pk}/">AP-2026-000123</a> '
        '<p class="fr-badge fr-badge--sm fr-badge--new bo-unread">Réponse non lue</p></td>'
        '<td><p class="fr-badge fr-badge--sm fr-badge--info">En cours</p></td>'
        "<td>Haute</td>"
        "<td>Habilitation à l&#x27;extranet</td>"
        "<td>Claire Dupont</td>"
        "<td>73282932000074</td>"
        "<td>Léa Martin</td>"
        '<td><time datetime="2026-01-01T00:30:00+01:00" title="01/01/2026 00:30">01/01 00:30'
        "</time></td>"
        '<td><p class="fr-badge fr-badge--sm fr-badge--error fr-badge--no-icon bo-late">'
        'En retard&nbsp;<time datetime="2026-03-09T09:00:00+01:00" title="09/03/2026 09:00">'
        "09/03 09:00</time></p></td>"
        "</tr>"
    )


@freeze_time("2026-03-10 09:00:00")
def test_a_date_of_another_year_shows_the_year_and_a_closed_ticket_has_no_deadline(
    agent, verified_client
):
    TicketFactory(
        status=Status.CLOS,
        created_at=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
        sla_resolution_due=datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
    )
    [row] = rows(verified_client(agent).get(QUEUE_URL + "?status=clos"))
    assert (
        '<td><time datetime="2025-06-01T12:00:00+02:00" title="01/06/2025 12:00">01/06/2025'
        "</time></td>"
    ) in row
    assert row.endswith("<td>—</td></tr>")  # no deadline for a closed ticket


def test_user_data_is_escaped(agent, habilitation_queue, verified_client):
    colleague = UserFactory(
        first_name="<b>Léa</b>", last_name="O'Brien & Co", queues=[habilitation_queue]
    )
    TicketFactory(
        reference="AP-2026-000124",
        requester_name="<script>alert('x')</script> Dupont & Fils",
        denomination="<script>alert(1)</script>",
        assignee=colleague,
    )
    response = verified_client(agent).get(QUEUE_URL)
    body = response.content.decode()
    [row] = rows(response)
    assert "<td>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Dupont &amp; Fils</td>" in row
    assert "<td>&lt;b&gt;Léa&lt;/b&gt; O&#x27;Brien &amp; Co</td>" in row
    assert "<script>alert" not in body
    assert "<b>Léa" not in body


def test_an_empty_list_says_so(agent, verified_client):
    response = verified_client(agent).get(QUEUE_URL)
    assert rows(response) == ['<tr><td colspan="10">Aucun ticket ne correspond.</td></tr>']
