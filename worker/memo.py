"""Per-process memos of small, rarely changed tables (API keys, routing rules), kept honest
by a version stamp in the shared cache.

Each web process keeps what it read; before using it, it reads the memo's version stamp from
the cache (one cache GET, no SQL) and reads the database again when the stamp changed or the
entry is older than ``max_age``. Whoever changes the rows calls ``invalidate()`` (services,
and receivers of the models' save/delete signals, so the admin is covered too): the change
reaches every process of every node at its next request.

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
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 60.0


class Memo:
    def __init__(self, name: str, *, max_age: float) -> None:
        self.name = name
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[str, float, Any]] = {}
        self._lock = threading.Lock()
        self._warned_at = 0.0

    @property
    def _stamp_key(self) -> str:
        return f"memo:{self.name}:version"

    def _version(self) -> str | None:
        """The shared stamp, or None when the cache cannot be reached."""
        try:
            version = cache.get(self._stamp_key)
            if version is None:
                cache.add(self._stamp_key, secrets.token_hex(8), timeout=None)
                version = cache.get(self._stamp_key)
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
        try:
            cache.set(self._stamp_key, secrets.token_hex(8), timeout=None)
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
