"""Per-process memos of small, rarely changed tables (API keys, routing rules, second-factor
devices), kept honest by one version stamp in the shared cache.

Each web process keeps what it read; before using it, it reads the version stamp from the
cache (one cache GET, no SQL; once per web request, whatever the number of memos the request
consults) and reads the database again when the stamp changed or the entry is older than
``max_age``. Whoever changes the rows calls ``invalidate()`` (services, and receivers of the
models' save/delete signals, so the admin is covered too): the change reaches every process
of every node at its next request. The memos share the stamp: a change to any of them makes
every process read all of them again, a few small SELECTs a few times a year, for one round
trip per request instead of one per memo.

When the cache cannot be reached, the memo is not trusted: every call reads the database
(a warning is logged once per interval), so a revocation is never missed because the cache
was down. If the cache lost a stamp (eviction, restart), a new one is drawn: entries read
under the old one are read again.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 60.0

STAMP_KEY = "memo:version"

# The stamp as read by the current web request (``request_begin`` / ``request_end``,
# connected to Django's request signals in ``WorkerConfig.ready``). Outside a request (a
# task, a command) the stamp is read on every call.
_OUTSIDE, _UNREAD = object(), object()
_request_stamp: ContextVar[object] = ContextVar("memo_request_stamp", default=_OUTSIDE)


def request_begin(**_: Any) -> None:
    _request_stamp.set(_UNREAD)


def request_end(**_: Any) -> None:
    _request_stamp.set(_OUTSIDE)


class Memo:
    def __init__(self, name: str, *, max_age: float) -> None:
        self.name = name
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[str, float, Any]] = {}
        self._lock = threading.Lock()
        self._warned_at = 0.0

    def _version(self) -> str | None:
        """The shared stamp, or None when the cache cannot be reached."""
        seen = _request_stamp.get()
        if isinstance(seen, str):
            return seen
        try:
            version = cache.get(STAMP_KEY)
            if version is None:
                cache.add(STAMP_KEY, secrets.token_hex(8), timeout=None)
                version = cache.get(STAMP_KEY)
            if seen is _UNREAD and isinstance(version, str):
                _request_stamp.set(version)
            return version
        except Exception as exc:  # noqa: BLE001 - any cache failure: read the database
            now = time.monotonic()
            if now - self._warned_at > _WARN_EVERY_SECONDS:
                self._warned_at = now
                logger.warning(
                    "Cache unreachable (%s): memo %s reads the database on every call.",
                    type(exc).__name__,
                    self.name,
                )
            return None

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        version = self._version()
        now = time.monotonic()
        if version is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version and now - entry[1] < self.max_age:
                return entry[2]
        value = compute()
        # None (an unknown key) is never kept: random keys cannot fill the memo.
        if version is not None and value is not None:
            with self._lock:
                self._entries[key] = (version, now, value)
        return value

    def invalidate(self) -> None:
        """The rows changed: every process reads them again at its next call."""
        with self._lock:
            self._entries.clear()
        if _request_stamp.get() is not _OUTSIDE:
            _request_stamp.set(_UNREAD)  # this request reads the new stamp
        try:
            cache.set(STAMP_KEY, secrets.token_hex(8), timeout=None)
        except Exception as exc:  # noqa: BLE001
            # Other processes keep their entries until max_age: say so loudly.
            logger.error(
                "Cache unreachable (%s): memo %s could not be invalidated; other processes "
                "may use the old rows for up to %s s.",
                type(exc).__name__,
                self.name,
                self.max_age,
            )

    def forget_local(self) -> None:
        """Drop this process's entries (tests)."""
        with self._lock:
            self._entries.clear()
