"""Secrets out of every log line: the one place that knows which URLs carry a secret.

A link's token is in the URL the e-mail gives (activation, password reset, objection to a
reassignment, the requester's follow-up space). Such a URL must never be written to a log
while the token may still work: not by gunicorn's access or error log, not by runserver's
``django.server`` lines, not by ``django.request`` ("Gone: /opposition/<token>/"), not by
Celery or any of our loggers, whatever the configuration.

* ``SECRET_URL_PREFIXES`` lists every URL whose next path segment is a secret. A test
  (tests/ops/test_secret_urls.py) walks the URLconfs and fails when a route with a
  ``<token>`` is not covered here.
* ``redact(text)`` replaces that segment with ``[masqué]`` wherever such a path shows in a
  text (with or without its leading slash, inside a request line, a referer, an exception
  message), and the values of query strings (``?siret=[masqué]&motif=[masqué]``): a query
  string is free for anyone to fill, so none is logged.
* ``install()`` puts ``redact`` in front of every log record this process creates (the
  ``logging`` record factory): the message is formatted and redacted when the record is
  made, before any handler, filter or formatter sees it. Called by the settings (every
  process that loads Django: gunicorn workers, runserver, Celery worker and beat,
  ``manage.py``) and by ``gunicorn.conf.py`` (gunicorn's master).
* ``RedactingGunicornLogger`` (gunicorn's ``logger_class``, set in ``gunicorn.conf.py``)
  redacts every atom of the access log (request line, path, query string, referer,
  headers) whatever ``access_log_format`` says.
* ``RedactingFilter`` does the same for a logging configuration that names filters
  (``LOGGING`` puts it on the console handler).

Pure Python, no Django import: gunicorn's master reads it before Django is set up.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Every URL whose next path segment is a secret (backoffice/public/urls.py and the
# back-office's enrolment link). Token-free
# pages under the same prefixes are listed in TOKEN_FREE_SEGMENTS.
SECRET_URL_PREFIXES: tuple[str, ...] = (
    "compte/activation/",  # activation_landing: the new holder's activation link
    "compte/reinitialisation/",  # reset_landing: "J'ai oublié mon mot de passe"
    "opposition/",  # objection_landing: the objection link of a reassignment notice
    "suivi/",  # followup_landing: the requester's follow-up link
    "connexion/enrolement/",  # otp_enrol_link: a staff account's second-factor enrolment
)
TOKEN_FREE_SEGMENTS: frozenset[str] = frozenset({"lien-invalide"})
MASK = "[masqué]"

_PREFIX_RE = "|".join(re.escape(p) for p in SECRET_URL_PREFIXES)
# A prefix at the start of a path: after a slash, the start of the text, a blank, a quote
# or the characters that open a value (``=``, ``(``, ``[``, ``:``); then the segment up to
# the next slash, blank, quote or query string. Percent-encoded slashes count as slashes.
_SECRET_SEGMENT = re.compile(
    rf"(?P<prefix>(?:(?<=[/\s'\"(=\[:])|^)(?:{_PREFIX_RE}))"
    r"(?P<segment>[^/\s?#'\"&<>\\]+)",
    re.IGNORECASE,
)
_ENCODED_SLASH = re.compile(r"%2f", re.IGNORECASE)
# A query string after a path (or alone, starting with "?"): keep the names, mask values.
_QUERY = re.compile(r"(?P<lead>\?|&)(?P<name>[^=&\s#'\"?]*)=(?P<value>[^&\s#'\"]*)")


def _segment(match: re.Match[str]) -> str:
    segment = match.group("segment")
    if segment.lower() in TOKEN_FREE_SEGMENTS:
        return match.group(0)
    return f"{match.group('prefix')}{MASK}"


def redact(text: str) -> str:
    """``text`` with every secret path segment and every query-string value masked."""
    if not text:
        return text
    if "%2f" in text.lower():
        text = _ENCODED_SLASH.sub("/", text)
    text = _SECRET_SEGMENT.sub(_segment, text)
    if "=" in text and ("?" in text or "&" in text):
        text = _QUERY.sub(
            lambda m: f"{m.group('lead')}{m.group('name')}={MASK if m.group('value') else ''}",
            text,
        )
    return text


def redact_query_string(query: str) -> str:
    """A bare query string (``a=1&b=2``, as in WSGI's QUERY_STRING)."""
    return redact(f"?{query}")[1:] if query else query


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format the record's message now, redacted, and its exception text."""
    if getattr(record, "_secrets_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: keep what logging would show
        message = f"{record.msg!r} {record.args!r}"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    record._secrets_redacted = True
    return record


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed_factory: Any = None


def install() -> None:
    """Redact every record this process creates, from now on (idempotent)."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory and current is not None:
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    _installed_factory = factory
    logging.setLogRecordFactory(factory)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with every access-log atom redacted (request line, path, query
    string, referer, headers, environ), and the error log's records redacted."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactingFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        redacted = {}
        for key, value in atoms.items():
            if key in {"q", "{query_string}e"} and isinstance(value, str):
                redacted[key] = redact_query_string(value)
            elif isinstance(value, str):
                redacted[key] = redact(value)
            else:
                redacted[key] = value
        return redacted
