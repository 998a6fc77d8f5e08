"""Error reporting: Sentry only when SENTRY_DSN is set, personal data off, and what leaves
carries neither a token of the URL, nor an address, nor a cookie, nor a form's content,
but the view and the request id that lead to the request's log lines. Each case in a
process of its own: Sentry's set-up is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.services import ROOT


def probe(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-m", "tests.ops.sentry_probe"],
        cwd=ROOT,
        env={**base, "APP_ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_dsn_there_is_no_sentry():
    report = probe()
    assert report["active"] is False
    assert report["events"] == []


def test_with_a_dsn_errors_are_reported_without_personal_data_or_secrets():
    # A DSN nobody listens on: events are captured in the probe, never sent.
    report = probe(SENTRY_DSN="http://publickey@127.0.0.1:9/1")
    assert report["active"] is True
    assert report["send_default_pii"] is False
    assert report["max_request_body_size"] == "never"
    assert report["include_local_variables"] is False
    assert report["status"] == 500
    [event] = [e for e in report["events"] if e.get("exception")]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["view"] == "boom"
    assert event["tags"]["request_id"] == report["request_id"]
    leaving = json.dumps(report["events"]).lower()
    for secret in (
        "secret-token-0123456789abcdef",
        "claire.dupont@exemple.fr",
        "cookie-secret-value",
        "personal-token-secret",
        "0102030405",
        "mot-de-passe-2026",
    ):
        assert secret not in leaving, secret
    assert "cannot reach [adresse masqu" in leaving  # masked, not dropped
