"""The second factor is checked once per session: the code page records the device's
fingerprint, later pages read no device row, and a device deleted, reset or unconfirmed
(or a deactivated user) ends the session at its next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.staff.second_factor import FINGERPRINT_SESSION_KEY, SECOND_FACTORS
from tests.backoffice.test_auth import code_of, password_step
from tests.factories import TOTPDeviceFactory
from worker.memo import STAMP_KEY

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/mes-tickets/"
DEVICE_TABLE = "otp_totp_totpdevice"


def _logged_in(agent):
    """Through the real pages: password, then a code."""
    device = TOTPDeviceFactory(user=agent)
    client = Client()
    response = password_step(client, agent.email, next_url=PAGE)
    response = client.post(response["Location"], {"token": code_of(device), "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert client.session[FINGERPRINT_SESSION_KEY]
    return client, device


def _page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE)
    assert response.status_code == 200
    assert "Mes tickets" in response.content.decode()
    return [q["sql"] for q in queries.captured_queries]


def _logged_out(client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/connexion/")
    assert "_auth_user_id" not in client.session
    # And for good: the next page too.
    assert client.get(PAGE).status_code == 302


def test_pages_read_no_device_row_once_verified(agent):
    client, _device = _logged_in(agent)
    client.get(PAGE)  # the first page of this process reads the devices once
    for _ in range(3):
        sql = _page_queries(client)
        assert not [q for q in sql if DEVICE_TABLE in q], sql


def test_a_page_costs_one_query_less_than_with_django_otp(agent, settings):
    client, _device = _logged_in(agent)
    client.get(PAGE)
    fast = _page_queries(client)
    settings.MIDDLEWARE = [
        "django_otp.middleware.OTPMiddleware"
        if name == "backoffice.middleware.SecondFactorMiddleware"
        else name
        for name in settings.MIDDLEWARE
    ]
    same_session = Client()  # a client builds its middleware chain once
    same_session.cookies = client.cookies
    per_request = _page_queries(same_session)
    assert len(per_request) == len(fast) + 1
    assert [q for q in per_request if DEVICE_TABLE in q]


def test_a_code_entry_elsewhere_does_not_make_sessions_read_again(agent):
    client, device = _logged_in(agent)
    client.get(PAGE)
    stamp = cache.get(STAMP_KEY)
    device.refresh_from_db()
    assert device.verify_token("000000") in (True, False)  # saves counters / throttling
    assert cache.get(STAMP_KEY) == stamp
    assert not [q for q in _page_queries(client) if DEVICE_TABLE in q]


def test_deleting_the_device_ends_the_session(agent):
    client, device = _logged_in(agent)
    client.get(PAGE)
    device.delete()
    _logged_out(client)


def test_deleting_through_a_queryset_ends_the_session(agent):
    client, _device = _logged_in(agent)
    client.get(PAGE)
    type(_device).objects.filter(user=agent).delete()
    _logged_out(client)


def test_a_new_secret_on_the_same_device_ends_the_session(agent):
    client, device = _logged_in(agent)
    client.get(PAGE)
    fresh = TOTPDeviceFactory.build(user=agent)
    device.key = fresh.key  # an administrator's reset keeps the row, changes the secret
    device.save()
    _logged_out(client)


def test_an_unconfirmed_device_ends_the_session(agent):
    client, device = _logged_in(agent)
    client.get(PAGE)
    device.confirmed = False
    device.save()
    _logged_out(client)


def test_a_deactivated_user_is_logged_out(agent):
    client, _device = _logged_in(agent)
    client.get(PAGE)
    agent.is_active = False
    agent.save()
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/connexion/")


def test_another_process_sees_the_revocation(agent):
    """The memo is per process: a change made elsewhere reaches it through the shared
    stamp (here: this process's entry is kept, only the stamp moves)."""
    client, device = _logged_in(agent)
    client.get(PAGE)
    entries = dict(SECOND_FACTORS._entries)
    device.delete()
    SECOND_FACTORS._entries.update(entries)  # as if this process never saw the delete
    _logged_out(client)


def test_without_the_cache_every_page_checks_the_device(agent, monkeypatch):
    client, device = _logged_in(agent)

    monkeypatch.setattr(SECOND_FACTORS, "_version", lambda: None)
    assert [q for q in _page_queries(client) if DEVICE_TABLE in q]
    device.delete()
    _logged_out(client)


def test_a_session_from_before_the_fingerprint_is_checked_then_upgraded(agent):
    device = TOTPDeviceFactory(user=agent)
    client = Client()
    client.force_login(agent)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    assert client.get(PAGE).status_code == 200
    assert client.session[FINGERPRINT_SESSION_KEY]
    client.get(PAGE)
    assert not [q for q in _page_queries(client) if DEVICE_TABLE in q]
