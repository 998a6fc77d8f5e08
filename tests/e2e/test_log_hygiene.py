"""The log check that runs around every journey (tests/e2e/conftest.py) must see the live
server's records and must catch a leak: this proves it is not vacuous. And the browser
opening working and made-up link URLs on a real gunicorn (gunicorn.conf.py, as `make run`
and production start it) and a real runserver: their access, error and output logs,
read back from their files, hold no token."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from playwright.sync_api import expect

from backoffice.ops.secret_urls import MASK
from tests.e2e.conftest import captcha_answer, log_leaks, mail_links
from tests.factories import ExtranetAccountFactory
from tests.support.webservers import start_web_server, web_database  # noqa: F401

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

    # Records written in the live server's thread reach caplog, runserver's access lines
    # (django.server) too...
    sent = [r for r in caplog.records if r.name == "worker.services" and "sent" in r.msg]
    assert sent, [r.getMessage() for r in caplog.records]
    page.goto(f"{live_server.url}/compte/reinitialisation/{token}/")
    access = [r.getMessage() for r in caplog.records if r.name == "django.server"]
    assert f"GET /compte/reinitialisation/{MASK}/ HTTP/1.1" in " ".join(access), access
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


@pytest.mark.parametrize("kind", ["gunicorn", "runserver"])
def test_links_opened_on_a_real_server_leave_no_token_in_its_logs(
    kind,
    start_web_server,  # noqa: F811
    web_database,  # noqa: F811
    page,
):
    _url, secrets = web_database
    server = start_web_server(kind)
    # The holder opens the activation link: the token leaves the URL at once.
    page.goto(f"{server.url}/compte/activation/{secrets.valid['activation']}/")
    expect(page).to_have_url(f"{server.url}/compte/activation/")
    page.goto(f"{server.url}/suivi/{secrets.valid['followup']}/")
    expect(page).to_have_url(f"{server.url}/suivi/")
    # A used-up or made-up link: the French "no longer valid" page.
    for key, prefix in (("objection", "opposition"), ("reset", "compte/reinitialisation")):
        response = page.goto(f"{server.url}/{prefix}/{secrets.invalid[key]}/")
        assert response is not None and response.status == 410
    # A working reset token tried on the activation landing.
    page.goto(f"{server.url}/compte/activation/{secrets.valid['reset']}/")
    server.stop()
    logs = server.logs()
    assert [t for t in secrets.tokens if t in logs] == []
    assert f"GET /compte/activation/{MASK}/ HTTP/1.1" in logs
    assert f"GET /opposition/{MASK}/ HTTP/1.1" in logs
