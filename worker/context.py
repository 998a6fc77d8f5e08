"""Who and what a log line belongs to: the request id and the actor of the current web
request, carried into the Celery tasks it triggers and into its outbox rows.

The web side binds them per request (``backoffice.ops.middleware``); the worker binds them
per task from the task's message headers (``worker.telemetry``) or from the outbox row it
runs. Every log record created meanwhile carries ``request_id``, ``actor`` and ``task``
attributes (the record factory below), whatever handler or formatter reads it.

The actor is an id with its kind (``user:12``, ``apikey:3``, ``account:45``), never a name,
an e-mail address or a phone number. The web side may bind a callable instead of a
string, so that the actor is worked out only when a line is written, from what the
request already loaded (never a query of its own).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

ActorRef = str | Callable[[], str | None] | None

_request_id: ContextVar[str | None] = ContextVar("apsupport_request_id", default=None)
_actor: ContextVar[ActorRef] = ContextVar("apsupport_actor", default=None)
_task: ContextVar[str | None] = ContextVar("apsupport_task", default=None)

# What an incoming X-Request-ID may be (a proxy's id is kept, anything else replaced).
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# The Celery message headers that carry the context from the web to the worker.
HEADER_REQUEST_ID = "apsupport_request_id"
HEADER_ACTOR = "apsupport_actor"


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    return value if value and REQUEST_ID_RE.match(value) else None


def request_id() -> str | None:
    return _request_id.get()


def actor() -> str | None:
    value = _actor.get()
    if callable(value):
        try:
            return value()
        except Exception:  # noqa: BLE001 - a log line must never fail for its context
            return None
    return value


Tokens = tuple[Token, Token, Token]


def bind(*, request_id: str | None, actor: ActorRef = None, task: str | None = None) -> Tokens:
    return (_request_id.set(request_id), _actor.set(actor), _task.set(task))


def unbind(tokens: Tokens) -> None:
    request_token, actor_token, task_token = tokens
    _task.reset(task_token)
    _actor.reset(actor_token)
    _request_id.reset(request_token)


@contextmanager
def bound(
    *, request_id: str | None, actor: ActorRef = None, task: str | None = None
) -> Iterator[None]:
    tokens = bind(request_id=request_id, actor=actor, task=task)
    try:
        yield
    finally:
        unbind(tokens)


def bind_request_id(value: str | None) -> Token:
    """Set the request id alone (the worker, from an outbox row): reset with the token."""
    return _request_id.set(value)


def reset_request_id(token: Token) -> None:
    _request_id.reset(token)


_installed = False


def install_log_record_factory() -> None:
    """Stamp every log record of this process with the current context. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        record.actor = actor()
        record.task = _task.get()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
