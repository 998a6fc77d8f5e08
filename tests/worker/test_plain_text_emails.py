"""Plain-text e-mails say what people typed (issue 12, point 7): no HTML escaping in the
body or the subject, and still no header injection; the bytes that leave for the SMTP
server are checked, not only the template's output."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.core import mail

from tests.factories import TicketFactory
from tests.support.intake import submit
from worker import services

pytestmark = pytest.mark.django_db


def _sent_bytes() -> email.message.EmailMessage:
    [message] = mail.outbox
    raw = message.message().as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_acknowledgement_body_says_dupont_and_fils_and_o_brien_as_typed(
    valid_request_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(
            {
                **valid_request_data,
                "requester_name": "Seán O'Brien",
                "denomination": "Dupont & Fils <SARL>",
            }
        )
    parsed = _sent_bytes()
    body = parsed.get_content()
    assert "Bonjour Seán O'Brien," in body
    for escaped in ("&amp;", "&#x27;", "&#39;", "&lt;", "&quot;"):
        assert escaped not in body
    assert parsed.get_content_type() == "text/plain"


def test_a_reply_keeps_ampersands_quotes_and_angle_brackets(
    agent, django_capture_on_commit_callbacks
):
    from tickets.services import ticket_reply

    ticket = TicketFactory(queue=agent.queues.get(), requester_name="Anne d'Arc & Cie")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(
            ticket=ticket,
            actor=agent,
            body='Tapez "Suivant" puis <Entrée> & validez.',
            expected_version=ticket.version,
        )
    body = _sent_bytes().get_content()
    assert "Bonjour Anne d'Arc & Cie," in body
    assert 'Tapez "Suivant" puis <Entrée> & validez.' in body


def test_a_line_break_in_a_subject_value_cannot_add_a_header(
    django_capture_on_commit_callbacks,
):
    ticket = TicketFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.email_queue(
            template="ticket_acknowledgement",
            to_email=ticket.email,
            ticket_id=ticket.pk,
            context={
                "reference": "AP-1 & Co\r\nBcc: intrus@exemple.fr\r\nX-Evil: 1",
                "requester_name": "Claire",
                "motif": "Autres",
                "siret": ticket.siret,
                "attached": False,
            },
        )
    parsed = _sent_bytes()
    assert parsed["Bcc"] is None
    assert parsed["X-Evil"] is None
    assert "\n" not in str(parsed["Subject"])
    assert mail.outbox[0].subject.startswith("[AP-1 & Co Bcc: intrus@exemple.fr X-Evil: 1]")
    assert mail.outbox[0].recipients() == [ticket.email]
