"""Reads planned once per connection: the ORM's SELECTs run as prepared statements.

Some pages read one row through a large query: the approval page's reassignment file joins
nine tables and computes ten subqueries (risk signals, file version). PostgreSQL spent 4 ms
planning it, for 0.3 ms of execution, on every page. Inside ``prepared(label)``, each
SELECT the ORM runs on PostgreSQL is prepared once on the connection (``PREPARE``, named
after its label and SQL text) and then executed (``EXECUTE``) with its parameters: the
server plans it once per connection, and the ORM builds its objects from the same rows as
before (``select_related``, annotations and all).

What is not prepared runs as before: another database, several rows of parameters, a
parameter whose type is not declared below (``None``, JSON), a statement other than a
SELECT, a first use inside a transaction (a failed PREPARE would abort it), a statement
PostgreSQL refused to prepare. Parameters get declared types (``text``, ``integer``,
``timestamptz``…): PostgreSQL could not always infer them (``prepared_at - $1`` may be a
date or an interval).

``execute_prepared(name, sql, params)`` runs one hand-written statement the same way
(intake's lookup and insert, README.md "What a new request costs"); both share one record
of what the connection has prepared.

Prepared statements belong to a server session: behind a pooler, use session mode. A
statement the server no longer has (``DISCARD ALL``) is prepared again on the spot outside
a transaction; inside one, the transaction fails once and the next use prepares it again.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import DatabaseError, connection

# Checked in this order (a bool is an int; a datetime is a date).
_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),  # "bigint" past 32 bits (below): SUBSTRING(text, bigint) does not exist
    (float, "double precision"),
    (Decimal, "numeric"),
    (datetime, "timestamptz"),
    (date, "date"),
    (timedelta, "interval"),
    (str, "text"),
    (UUID, "uuid"),
)
_PLACEHOLDER = re.compile(r"%[%s]|%")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")
_MISSING_STATEMENT = "26000"  # invalid_sql_statement_name


def _type_of(value: object) -> str | None:
    name = next((name for kind, name in _TYPES if isinstance(value, kind)), None)
    if name == "integer" and not -(2**31) <= value < 2**31:  # type: ignore[operator]
        return "bigint"
    return name


# Statements PostgreSQL refused to prepare (their text and parameter types), by this
# process: they run unprepared from then on.
_REFUSED: set[str] = set()


def numbered(sql: str, count: int) -> str | None:
    """``sql`` with its ``%s`` placeholders numbered ``$1``… and ``%%`` back to ``%``;
    None if it holds anything else (another placeholder style, a lone ``%``) or another
    number of placeholders."""
    found = 0
    broken = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found, broken
        token = match.group(0)
        if token == "%%":
            return "%"
        if token == "%":
            broken = True
            return token
        found += 1
        return f"${found}"

    text = _PLACEHOLDER.sub(replace, sql)
    return None if broken or found != count else text


def _known() -> set[str]:
    """The statements this process prepared on the current connection (reset when the
    connection is a new one): intake's and the reads', one record."""
    raw = connection.connection
    known = getattr(connection, "_prepared_statements", None)
    if known is None or known[0]() is not raw:
        known = (weakref.ref(raw), set())
        connection._prepared_statements = known  # type: ignore[attr-defined]
    return known[1]


def forget_prepared() -> bool:
    """Forget the statements this connection prepared (the server lost them: ``DISCARD
    ALL``); whether there were any. The next use reads what the server has."""
    known = getattr(connection, "_prepared_statements", None)
    connection._prepared_statements = None  # type: ignore[attr-defined]
    return bool(known and known[1])


def execute_prepared(name: str, sql: str, params: list[Any]) -> tuple:
    """Run ``sql`` (``%s`` placeholders, their types inferred by PostgreSQL) as the
    prepared statement ``name`` of the current connection, preparing it on the
    connection's first use, and return its first row. Through Django's cursor, so it is
    logged and counted like any statement. A statement the server no longer has fails the
    caller's transaction: the caller calls ``forget_prepared`` and tries again (intake)."""
    known = _known()
    with connection.cursor() as cursor:
        if name not in known:
            # What the server has: after a retry, this process's record may be behind it.
            cursor.execute("SELECT name FROM pg_prepared_statements")
            known.update(row[0] for row in cursor.fetchall())
        if name not in known:
            text = numbered(sql, len(params))
            if text is None:
                raise ValueError(f"{name}: one %s per parameter, and no other placeholder")
            cursor.execute(f"PREPARE {name} AS {text}")
            known.add(name)
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
        return cursor.fetchone()


def _is_missing_statement(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == _MISSING_STATEMENT


def _wrapper(label: str) -> Callable[..., Any]:
    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        if many or not params or not sql.lstrip().upper().startswith("SELECT"):
            return execute(sql, params, many, context)
        types = [_type_of(value) for value in params]
        text = numbered(sql, len(params))
        if None in types or text is None:
            return execute(sql, params, many, context)
        signature = f"{sql}\x00{','.join(t for t in types if t)}"
        if signature in _REFUSED:
            return execute(sql, params, many, context)
        digest = hashlib.blake2b(signature.encode(), digest_size=6).hexdigest()
        name = f"{label}_{digest}"
        known = _known()
        prepare = f"PREPARE {name} ({', '.join(t for t in types if t)}) AS {text}"
        if name not in known:
            if connection.in_atomic_block:
                # A PREPARE that fails would abort the caller's transaction: prepare
                # outside transactions only (the pages read outside them).
                return execute(sql, params, many, context)
            # What the server has: this process's record may be behind it.
            execute("SELECT name FROM pg_prepared_statements", None, False, context)
            known.update(row[0] for row in context["cursor"].fetchall())
        if name not in known:
            try:
                execute(prepare, None, False, context)
            except DatabaseError:
                _REFUSED.add(signature)  # e.g. a parameter whose declared type does not fit
                return execute(sql, params, many, context)
            known.add(name)
        run = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
        try:
            return execute(run, params, many, context)
        except DatabaseError as exc:
            if not _is_missing_statement(exc):
                raise
            forget_prepared()
            if connection.in_atomic_block:
                raise  # the transaction is aborted; the next use prepares it again
            execute(prepare, None, False, context)
            _known().add(name)
            return execute(run, params, many, context)

    return wrapper


@contextmanager
def prepared(label: str) -> Iterator[None]:
    """Inside: the ORM's SELECTs on PostgreSQL run as statements prepared once per
    connection (see the module). ``label``: a short lower-case name of what is read."""
    if not _NAME.match(label):
        raise ValueError(f"label: a short lower-case SQL name, not {label!r}")
    if connection.vendor != "postgresql":
        yield
        return
    with connection.execute_wrapper(_wrapper(label)):
        yield
