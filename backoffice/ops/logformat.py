"""Log formats: JSON lines in production (``LOG_FORMAT=json``), text in ``make run``.

Both add the request context every record carries (``worker.context``: request id, actor,
task) and mask e-mail addresses wherever they slipped into a message or a traceback, as a
last line of defence: code never logs an address, a phone number or a secret on purpose
(tests/e2e check the records of every journey).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MASK = "[adresse masquée]"
CONTEXT_FIELDS = ("request_id", "actor", "task")


def redact(text: str) -> str:
    return EMAIL_RE.sub(MASK, text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC), ``level``, ``logger``, ``message``, the
    context fields that are set, ``http`` for the request lines, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry["http"] = http
        entry["pid"] = record.process
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request_id actor] message``: for a person reading a terminal."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: object):
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s", datefmt
        )

    def format(self, record: logging.LogRecord) -> str:
        parts = [str(getattr(record, name, None) or "") for name in ("request_id", "actor")]
        record.context = " ".join(p for p in parts if p) or "-"
        return redact(super().format(record))
