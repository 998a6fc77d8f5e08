"""The log check that runs around every journey (tests/e2e/conftest.py) must see the live
server's records and must catch a leak: this proves it is not vacuous."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import captcha_answer, log_leaks, mail_links
from tests.factories import ExtranetAccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_log_check_sees_the_servers_records_and_catches_a_leaked_token(
    live_server, page, caplog
):
    account = ExtranetAccountFactory(holder_email="titulaire@exemple.fr")
    page.goto(f"{live_server.url}/compte/mot-de-passe-oublie/")
    page.get_by_label("Identifiant").fill(account.identifiant)
    page.get_by_label("Recopier le code ci-contre").fill(captcha_answer(page))
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("heading", name="Demande prise en compte")).to_be_visible()
    [message] = mail.outbox
    [(_path, token)] = mail_links(message)

    # Records written in the live server's thread reach caplog...
    sent = [r for r in caplog.records if r.name == "worker.services" and "sent" in r.msg]
    assert sent, [r.getMessage() for r in caplog.records]
    secrets = {token, "titulaire@exemple.fr"}
    assert log_leaks(caplog.records, secrets) == []

    # ... and a token or an address in any of them is caught, whatever its case.
    leaked = logging.LogRecord(
        "accounts",
        logging.INFO,
        __file__,
        1,
        "link %s for %s",
        (token, "Titulaire@Exemple.fr"),
        None,
    )
    assert len(log_leaks([*caplog.records, leaked], secrets)) == 2
