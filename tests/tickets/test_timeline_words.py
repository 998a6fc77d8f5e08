"""The timeline speaks French: no template file name, no queue slug (issue 13)."""

from __future__ import annotations

import pytest

from tests.support.intake import submit
from tickets.models import EventKind, TicketEvent
from tickets.presenters import EMAIL_LABELS, describe_event

pytestmark = pytest.mark.django_db


def test_a_new_request_reads_with_its_queue_name_and_its_acknowledgement(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the acknowledgement leaves
        ticket = submit(valid_request_data).ticket
    lines = [describe_event(e) for e in ticket.events.order_by("id")]
    assert "Routée vers la file «\u00a0Habilitation à l'extranet\u00a0»" in lines
    assert "Courriel envoyé : accusé de réception" in lines
    for line in lines:
        assert "habilitation »" not in line
        assert "ticket_acknowledgement" not in line


def test_older_routed_events_still_read(valid_request_data):
    ticket = submit(valid_request_data).ticket
    old = TicketEvent(ticket=ticket, kind=EventKind.ROUTED, data={"queue": "habilitation"})
    assert describe_event(old) == "Routée vers la file «\u00a0habilitation\u00a0»"


@pytest.mark.parametrize("template", sorted(EMAIL_LABELS))
def test_every_e_mail_has_a_french_name(template):
    event = TicketEvent(kind=EventKind.EMAIL_FAILED, data={"template": template})
    assert describe_event(event) == f"Échec d'envoi de courriel : {EMAIL_LABELS[template]}"
    assert "_" not in EMAIL_LABELS[template]


def test_an_unknown_template_never_shows_its_file_name():
    event = TicketEvent(kind=EventKind.EMAIL_SENT, data={"template": "quelque_chose"})
    assert describe_event(event) == "Courriel envoyé : courriel"


def test_every_template_sent_about_a_ticket_is_named():
    from pathlib import Path

    names = {p.name.rsplit("_", 1)[0] for p in Path("templates/emails").glob("*_subject.txt")}
    assert names <= set(EMAIL_LABELS), names - set(EMAIL_LABELS)
