"""Run by test_sentry.py in a process of its own (Sentry's set-up is process-wide): loads
the settings as the environment says, prints whether Sentry is on and with which options,
then, with events captured in memory instead of sent, makes a request fail and prints the
events as they would have left."""

from __future__ import annotations

import json
import os
import sys
import types

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

import sentry_sdk  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

from backoffice.ops.sentry import sentry_init  # noqa: E402

client_options = sentry_sdk.get_client().options if sentry_sdk.get_client().is_active() else {}
report: dict = {
    "active": sentry_sdk.get_client().is_active(),
    "send_default_pii": client_options.get("send_default_pii"),
    "max_request_body_size": client_options.get("max_request_body_size"),
    "include_local_variables": client_options.get("include_local_variables"),
    "events": [],
}

if report["active"]:

    class Captured(Transport):
        def capture_envelope(self, envelope):
            for item in envelope.items:
                if item.type == "event":
                    report["events"].append(item.payload.json)

    sentry_init(dsn=os.environ["SENTRY_DSN"], environment="test", transport=Captured)

    def boom(request, token):
        raise RuntimeError("cannot reach claire.dupont@exemple.fr")

    urls = types.ModuleType("sentry_probe_urls")
    urls.urlpatterns = [path("boom/<str:token>/", boom, name="boom")]
    sys.modules["sentry_probe_urls"] = urls
    with override_settings(ROOT_URLCONF="sentry_probe_urls", ALLOWED_HOSTS=["testserver"]):
        response = Client(raise_request_exception=False).post(
            "/boom/Secret-Token-0123456789abcdef/?email=claire.dupont@exemple.fr",
            data={"phone": "0102030405", "password": "Mot-de-passe-2026"},
            HTTP_COOKIE="preferences=cookie-secret-value",
            HTTP_AUTHORIZATION="Bearer personal-token-secret",
            HTTP_USER_AGENT="probe",
        )
    report["status"] = response.status_code
    report["request_id"] = response.get("X-Request-ID")
    sentry_sdk.flush()

print(json.dumps(report))
