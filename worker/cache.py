"""The cache is an optimisation: Django's Redis cache that keeps the site up when Redis is not.

``ResilientRedisCache`` (``CACHES["default"]`` when ``CACHE_URL=redis://…``) is Django's
``RedisCache`` with three changes:

* short socket timeouts (``CACHE_TIMEOUT_SECONDS``, 0.3 s, for connecting and for each
  answer; set in the settings), so a Redis that does not answer costs a request at most
  that long;
* when Redis cannot be reached, the cache is taken as *down* for ``CACHE_RETRY_SECONDS``
  (5 s) in this process: during that time no call goes to Redis at all (no request pays the
  timeout twice), then the next call tries again. A warning is logged once per
  ``CACHE_WARNING_SECONDS`` (60 s) per process, not once per request;
* while it is down, the *optimisation* calls answer as a cache miss: ``get`` returns the
  default (the caller reads through to the database), ``set`` / ``delete`` / ``touch``
  do nothing. The *counter* calls (``add``, ``incr``, ``decr``), which rate limits and
  login lockouts are made of, raise ``CacheUnavailable``: a counter that silently reads
  0 would switch a protection off without anyone deciding it. Each caller decides what
  its protection does without the cache (README.md, "When the cache is down").

``cache_available()`` tells whether the default cache can be used now (for a caller that
must choose before it counts). Memory caches (``make run``, tests) are always available.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)


class CacheUnavailable(Exception):  # noqa: N818 - a state, not an error of the caller
    """The cache cannot count right now (Redis unreachable)."""


try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    UNREACHABLE: tuple[type[BaseException], ...] = (
        _RedisConnectionError,
        _RedisTimeoutError,
        ConnectionError,
        TimeoutError,
        OSError,
    )
except ImportError:  # pragma: no cover - redis is a dependency
    UNREACHABLE = (ConnectionError, TimeoutError, OSError)


class _Health:
    """Per process and per Redis location: down until when, next warning when."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.next_warning = 0.0


_health: dict[str, _Health] = {}
_health_lock = threading.Lock()


def _health_of(location: str) -> _Health:
    with _health_lock:
        return _health.setdefault(location, _Health())


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` around the same connection pool for
    every call, and each one fills a table of ~170 response callbacks: about a third of
    a millisecond of CPU per cache call, several per request. One per pool is enough
    (``redis.Redis`` is thread-safe; its pool checks the process id after a fork)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("down_retry_seconds", 5.0))
        self.warning_seconds = float(options.pop("down_warning_seconds", 60.0))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._location = ",".join(self._servers)

    # --- health -------------------------------------------------------------------------

    def is_down(self) -> bool:
        return time.monotonic() < _health_of(self._location).down_until

    def _mark_down(self, exc: BaseException) -> None:
        health = _health_of(self._location)
        now = time.monotonic()
        with health.lock:
            health.down_until = now + self.retry_seconds
            warn = now >= health.next_warning
            if warn:
                health.next_warning = now + self.warning_seconds
        if warn:
            logger.warning(
                "Cache unreachable (%s): reading through to the database; trying again "
                "every %.0f s, this warning at most every %.0f s.",
                type(exc).__name__,
                self.retry_seconds,
                self.warning_seconds,
            )

    def _mark_up(self) -> None:
        health = _health_of(self._location)
        if health.down_until:
            with health.lock:
                was_down = health.down_until != 0.0
                health.down_until = 0.0
                health.next_warning = 0.0
            if was_down:
                logger.warning("Cache reachable again.")

    def _optional(self, method: str, fallback: Any, *args: Any, **kwargs: Any) -> Any:
        if self.is_down():
            return fallback
        try:
            result = getattr(super(), method)(*args, **kwargs)
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return fallback
        self._mark_up()
        return result

    def _counter(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.is_down():
            raise CacheUnavailable("cache down")
        try:
            result = getattr(super(), method)(*args, **kwargs)
        except UNREACHABLE as exc:
            self._mark_down(exc)
            raise CacheUnavailable(type(exc).__name__) from exc
        self._mark_up()
        return result

    def probe(self) -> bool:
        """One round trip (unless already known down): is Redis answering?"""
        if self.is_down():
            return False
        try:
            self._cache.get_client(write=False).ping()
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return False
        self._mark_up()
        return True

    # --- optimisation calls: a miss when Redis is unreachable -----------------------------

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._optional("get", default, key, default, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._optional("get_many", {}, keys, version)

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._optional("has_key", False, key, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._optional("set", None, key, value, timeout, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._optional("set_many", list(data), data, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._optional("touch", False, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._optional("delete", False, key, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        return self._optional("delete_many", None, keys, version)

    def clear(self) -> Any:
        return self._optional("clear", None)

    # --- counter calls: the caller decides ---------------------------------------------

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._counter("add", key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        return self._counter("incr", key, delta, version)

    def decr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        return self._counter("decr", key, delta, version)


def cache_available(alias: str = "default") -> bool:
    """Whether the cache can count now. A memory cache always can."""
    backend = caches[alias]
    probe = getattr(backend, "probe", None)
    return True if probe is None else bool(probe())
