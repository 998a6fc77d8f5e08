"""The operator's settings: bad values stop the start; production logs JSON lines and
trusts no loopback caller by default; the secret key can be rotated without logging
everybody out."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import reverse
from zeal import zeal_ignore

from tests.security.test_production_settings import run

OLD_KEY = "old-key-" + "o" * 60
NEW_KEY = "new-key-" + "n" * 60


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"OPS_TOKEN": "too-short"}, "OPS_TOKEN must be at least 32 characters"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be json or text"),
        ({"OPS_HEARTBEAT_SECONDS": "60"}, "must exceed OPS_HEARTBEAT_SECONDS"),
        ({"OPS_LOOPBACK_ACCESS": "peut-être"}, "OPS_LOOPBACK_ACCESS must be a boolean"),
        ({"SECRET_KEY_FALLBACKS": "short"}, "SECRET_KEY_FALLBACKS"),
    ],
)
def test_bad_operator_values_stop_the_start(tmp_path, overrides, message):
    result = run(["manage.py", "check"], overrides, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_logs_json_lines_and_does_not_trust_loopback(tmp_path):
    script = (
        "import django, json, logging; django.setup(); from django.conf import settings as s; "
        "logging.getLogger('apsupport.probe').warning('probe for %s', 'claire@exemple.fr'); "
        "print(json.dumps({'format': s.LOG_FORMAT, 'loopback': s.OPS_LOOPBACK_ACCESS}))"
    )
    result = run(["-c", script], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "format": "json",
        "loopback": False,
    }
    [line] = [json.loads(x) for x in result.stderr.splitlines() if "apsupport.probe" in x]
    assert line["level"] == "WARNING"
    assert line["message"] == "probe for [adresse masquée]"


@pytest.mark.django_db
def test_a_rotated_secret_key_keeps_sessions_alive_through_its_fallback(verified_client, agent):
    page = reverse("backoffice:my_tickets")
    with override_settings(SECRET_KEY=OLD_KEY):
        client = verified_client(agent)
        assert client.get(page).status_code == 200
    # The new key, the old one as a fallback: still logged in. (Django then re-signs the
    # session and cycles its key: two reads of the session row from one line, once per
    # session, which django-zeal would take for an N+1.)
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]), zeal_ignore():
        assert client.get(page).status_code == 200
        assert client.get(page).status_code == 200
    # A session still signed with the old key once the fallback is gone: logged out.
    with override_settings(SECRET_KEY=OLD_KEY):
        other = verified_client(agent)
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        response = other.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("backoffice:login"))
