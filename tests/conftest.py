from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from tests.factories import UserFactory
from tickets.models import Queue

# Fixtures that start real services (SMTP sink, own Redis, Celery workers).
pytest_plugins = ["tests.support.services"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# The browser journeys need the e2e extra (Playwright); `make test` does not install it.
try:
    import playwright  # noqa: F401
except ImportError:
    collect_ignore = ["e2e"]


def redis_shared_by_workers(settings) -> list[str]:
    """The settings that point a parallel run's workers at one shared Redis database."""
    return [
        name
        for name, url in (
            ("CACHE_URL", str(settings.CACHES["default"].get("LOCATION", ""))),
            ("CELERY_BROKER_URL", str(settings.CELERY_BROKER_URL)),
        )
        if url.startswith(("redis://", "rediss://"))
    ]


def pytest_configure(config):
    """Parallel runs (pytest-xdist ``-n``) are for the embedded defaults only: each worker
    has its own SQLite or PostgreSQL test database, but they would share the one Redis
    database given, where a test's ``cache.clear()`` is a FLUSHDB wiping the other
    worker's counters mid-test, and a real Celery worker of one may take the other's tasks.
    Refuse that combination at once (in the controller, before any worker starts) rather
    than fail at random."""
    from django.conf import settings

    workers = getattr(config.option, "numprocesses", None)  # -n N, -n auto, or none
    if not workers or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # not parallel, or already checked by the controller
    shared = redis_shared_by_workers(settings)
    if shared:
        pytest.exit(
            f"pytest -n with Redis ({', '.join(shared)}): the workers would share one Redis "
            "database. Run this pass without -n (as `make test` and CI do), or unset "
            f"{' and '.join(shared)} to run in parallel on the embedded defaults.",
            returncode=4,
        )


def pytest_collection_modifyitems(config, items):
    """Tests marked ``services`` need real PostgreSQL and Redis. They are skipped on the
    default (SQLite, file broker) run; with REQUIRE_SERVICES=1 (CI's second pass) a missing
    service fails them instead, so that pass can never be green by skipping."""
    from django.conf import settings

    have_pg = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    have_redis = settings.CELERY_BROKER_URL.startswith("redis://")
    if have_pg and have_redis:
        return
    for item in items:
        if "services" in item.keywords:
            if REQUIRE_SERVICES:
                item.add_marker(
                    pytest.mark.xfail(
                        reason="REQUIRE_SERVICES=1 but PostgreSQL/Redis not configured",
                        strict=True,
                        run=False,
                    )
                )
            else:
                item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres… and Redis"))


@pytest.fixture(autouse=True, scope="session")
def _api_schemas_built_before_any_frozen_clock():
    """django-ninja builds its pydantic schemas when the URLconf is first loaded. Built
    under freezegun, ``datetime`` is freezegun's fake class and pydantic refuses it: load
    the URLconf once, for real, before any test can freeze the clock."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point


@pytest.fixture(autouse=True, scope="session")
def _eager_tasks_are_their_own_zeal_context():
    """Tasks run inline in tests (CELERY_TASK_ALWAYS_EAGER), inside the request that queued
    them; in production each runs in a worker process. Give each its own django-zeal
    context, so that two e-mails sent by one request are not taken for an N+1 query."""
    from celery.app.task import Task
    from zeal import zeal_context

    original = Task.apply

    def apply(self, *args, **kwargs):
        with zeal_context():
            return original(self, *args, **kwargs)

    Task.apply = apply
    yield
    Task.apply = original


@pytest.fixture(autouse=True)
def _routing_tables(request):
    """Transactional tests flush every table after they run, including the queues and
    routing rules that a data migration seeds: put them back before such a test."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from django.apps import apps

    seed = importlib.import_module("tickets.migrations.0002_seed_queues_and_rules").seed
    seed(apps, None)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate-limit counters and cached figures must not leak between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _documents_storage(settings, tmp_path):
    """Each test stores documents in its own folder (what one test stored, another never
    sees)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }


@pytest.fixture
def habilitation_queue(db) -> Queue:
    return Queue.objects.get(slug="habilitation")


@pytest.fixture
def agent(db, habilitation_queue):
    return UserFactory(email="agent@asp.example", queues=[habilitation_queue])


@pytest.fixture
def other_agent(db):
    return UserFactory(email="other.agent@asp.example", queues=[Queue.objects.get(slug="general")])


@pytest.fixture
def supervisor(db):
    return UserFactory(email="superviseur@asp.example", supervisor=True)


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@asp.example", admin=True)


@pytest.fixture
def valid_request_data() -> dict:
    """An S8 request as a requester would type it."""
    return {
        "siret": "732 829 320 00074",
        "denomination": "Boulangerie du Marché",
        "requester_name": "Claire Dupont",
        "phone": "01 02 03 04 05",
        "email": "Claire.Dupont@Exemple.fr",
        "motif": "habilitation_extranet",
        "description": "L'ancienne gestionnaire est partie, je n'ai plus accès au compte.",
    }


@pytest.fixture
def verified_client(db):
    """``verified_client(user)``: a test client logged in as ``user`` with a verified
    second factor (a confirmed TOTP device recorded in the session, as after the code
    page)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.staff.second_factor import FINGERPRINT_SESSION_KEY, device_fingerprint
    from tests.factories import TOTPDeviceFactory

    def make(user):
        client = Client()
        device = TOTPDeviceFactory(user=user)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session[FINGERPRINT_SESSION_KEY] = device_fingerprint(device)
        session.save()
        return client

    return make
