"""No secret in any log line (backoffice/ops/secret_urls.py): the list of URLs that carry
a secret is complete, the redaction masks them wherever they show, and real servers
(gunicorn as `make run` and production start it, runserver) write no token to their logs
for working and made-up tokens alike."""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from backoffice.ops import secret_urls
from backoffice.ops.secret_urls import MASK, redact
from tests.support.services import wait_for
from tests.support.webservers import start_web_server, web_database  # noqa: F401

TOKEN = "Zt0k3n_-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def _routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_route_with_a_token_is_listed_as_carrying_a_secret():
    with_token = [r for r in _routes(get_resolver()) if "<str:token>" in r or "<token>" in r]
    assert len(with_token) == 5, with_token
    for route in with_token:
        path = "/" + route.replace("<str:token>", TOKEN)
        assert TOKEN not in redact(f"GET {path} HTTP/1.1"), route
        assert route.split("<")[0].endswith(secret_urls.SECRET_URL_PREFIXES), route


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Gone: /opposition/{TOKEN}/", f"Gone: /opposition/{MASK}/"),
        (
            f'127.0.0.1 "GET /compte/activation/{TOKEN}/ HTTP/1.1" 302',
            f'127.0.0.1 "GET /compte/activation/{MASK}/ HTTP/1.1" 302',
        ),
        (f"{{'path': 'suivi/{TOKEN}/'}}", f"{{'path': 'suivi/{MASK}/'}}"),
        (
            f"https://x.fr/compte/reinitialisation/{TOKEN}",
            f"https://x.fr/compte/reinitialisation/{MASK}",
        ),
        (f"GET /suivi%2F{TOKEN}%2F", f"GET /suivi/{MASK}/"),
        (
            "GET /assistance/?siret=123&motif=x HTTP/1.1",
            f"GET /assistance/?siret={MASK}&motif={MASK} HTTP/1.1",
        ),
        # Token-free pages stay readable.
        ("GET /suivi/lien-invalide/ 410", "GET /suivi/lien-invalide/ 410"),
        ("POST /compte/activation/ 200", "POST /compte/activation/ 200"),
        ("GET /backoffice/files/habilitation/ 200", "GET /backoffice/files/habilitation/ 200"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_every_record_is_redacted_when_it_is_made_before_any_handler(caplog):
    caplog.set_level(logging.INFO, logger="django.request")
    try:
        raise ValueError(f"Resolver404 {{'path': 'opposition/{TOKEN}/'}}")
    except ValueError:
        logging.getLogger("django.request").exception("Gone: %s", f"/opposition/{TOKEN}/")
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert TOKEN not in record.getMessage()
    assert TOKEN not in caplog.text
    assert f"/opposition/{MASK}/" in record.getMessage()


def _visit_every_secret_url(server, secrets_) -> dict[str, int]:
    answers = {path: server.get(path)[0] for path in secrets_.paths()}
    # The valid tokens really worked (the landing redirects to the token-free page) and the
    # made-up ones were refused: the logs were written for both cases.
    assert answers[f"/compte/activation/{secrets_.valid['activation']}/"] == 302
    assert answers[f"/suivi/{secrets_.valid['followup']}/"] == 302
    assert answers[f"/opposition/{secrets_.invalid['objection']}/"] == 410
    assert answers[f"/compte/reinitialisation/{secrets_.invalid['reset']}/"] == 410
    return answers


@pytest.mark.parametrize("kind", ["gunicorn", "runserver"])
def test_a_real_server_writes_no_token_to_its_logs(kind, start_web_server, web_database):  # noqa: F811
    _url, secrets_ = web_database
    server = start_web_server(kind)
    _visit_every_secret_url(server, secrets_)
    # A server writes its access line once the answer has left: on a busy machine the last
    # one can still be on its way when the client has read the answer.
    wait_for(lambda: f"siret={MASK}" in server.logs(), timeout=15)
    server.stop()
    logs = server.logs()
    for token in secrets_.tokens:
        assert token not in logs, f"{kind} logged a token"
    # The requests were logged, with the secret segment masked.
    assert re.search(rf"GET /opposition/{re.escape(MASK)}/ HTTP/1\.1\"? 410", logs), logs[-2000:]
    assert f"/compte/activation/{MASK}/" in logs
    assert f"/suivi/{MASK}/" in logs
    assert f"siret={MASK}" in logs
    assert "73282932000074" not in logs
    if kind == "gunicorn":
        access = server.access_log.read_text()
        assert f'"GET /compte/reinitialisation/{MASK}/ HTTP/1.1" 410' in access
    # The application's own line for each request (apsupport.request) is there too: the
    # view and the status, never the path.
    assert "objection_landing 410" in server.output_log.read_text()
