"""The suite refuses a parallel run (pytest -n) that would share one Redis database."""

from types import SimpleNamespace

import pytest

from tests.conftest import pytest_configure, redis_shared_by_workers


def _settings(cache: str, broker: str) -> SimpleNamespace:
    return SimpleNamespace(CACHES={"default": {"LOCATION": cache}}, CELERY_BROKER_URL=broker)


def test_the_redis_settings_a_parallel_run_would_share_are_named():
    assert redis_shared_by_workers(_settings("apsupport", "filesystem://")) == []
    assert redis_shared_by_workers(
        _settings("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14")
    ) == ["CACHE_URL", "CELERY_BROKER_URL"]
    assert redis_shared_by_workers(_settings("", "rediss://cache.example:6380/1")) == [
        "CELERY_BROKER_URL"
    ]


def test_a_parallel_run_on_redis_stops_before_any_worker_starts(monkeypatch, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/14"
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    config = SimpleNamespace(option=SimpleNamespace(numprocesses=2))
    with pytest.raises(pytest.exit.Exception) as stopped:
        pytest_configure(config)
    assert "CELERY_BROKER_URL" in str(stopped.value)
    assert stopped.value.returncode == 4


def test_a_serial_run_or_a_worker_is_not_stopped(monkeypatch, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/14"
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytest_configure(SimpleNamespace(option=SimpleNamespace(numprocesses=None)))
    pytest_configure(SimpleNamespace(option=SimpleNamespace(numprocesses=0)))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    pytest_configure(SimpleNamespace(option=SimpleNamespace(numprocesses=2)))
