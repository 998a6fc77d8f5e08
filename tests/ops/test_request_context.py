"""The request id and the actor: from the web request into its log line, the Celery tasks
it publishes, the outbox rows it writes and the log lines of the work done for it. Never
a path (link tokens), an address or a phone number. The same with a real worker process
reading the headers: test_request_context_services.py."""

from __future__ import annotations

import json
import logging

import pytest
from celery.app.task import Context
from kombu import Connection

from accounts.staff.services import api_key_create
from backoffice.ops.logformat import JsonFormatter, TextFormatter
from tests.support.services import publishing_to
from worker import context, telemetry
from worker.models import OutboxJob
from worker.tasks import send_email

pytestmark = pytest.mark.django_db

INTAKE = "/api/v1/assistance-requests"


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "apsupport.request"]


def test_each_request_gets_an_id_answered_in_a_header(client):
    first, second = client.get("/"), client.get("/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]
    # A proxy's id is kept; anything that does not look like one is replaced.
    assert client.get("/", HTTP_X_REQUEST_ID="proxy-id-0123456789")["X-Request-ID"] == (
        "proxy-id-0123456789"
    )
    replaced = client.get("/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")["X-Request-ID"]
    assert replaced != "<script>alert(1)</script>" and len(replaced) == 32


def test_an_intake_carries_its_request_id_to_the_outbox_row_and_the_e_mail_lines(
    client, caplog, valid_request_data, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO)
    key, raw = api_key_create(name="extranet-test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            INTAKE,
            data=json.dumps(valid_request_data),
            content_type="application/json",
            HTTP_X_API_KEY=raw,
        )
    assert response.status_code == 201
    request_id = response["X-Request-ID"]

    [line] = request_lines(caplog)
    assert line.request_id == request_id
    assert line.actor == f"apikey:{key.pk}"
    assert line.http == {
        "method": "POST",
        "view": "api:create_assistance_request",
        "route": "api/v1/assistance-requests",
        "status": 201,
        "duration_ms": line.http["duration_ms"],
    }
    [email] = OutboxJob.objects.filter(template="ticket_acknowledgement")
    assert email.request_id == request_id
    [sent] = [r for r in caplog.records if r.name == "worker.services" and "sent" in r.msg]
    assert sent.request_id == request_id
    # Nothing the requester typed in any line.
    for record in caplog.records:
        text = record.getMessage().lower()
        assert "claire.dupont@exemple.fr" not in text and "01 02 03 04 05" not in text


def test_a_staff_users_requests_name_the_user(verified_client, agent, caplog):
    caplog.set_level(logging.INFO)
    verified_client(agent).get("/backoffice/")
    assert [r.actor for r in request_lines(caplog)] == [f"user:{agent.pk}"]


def test_a_secret_path_is_never_logged_and_django_logs_no_second_line(client, caplog):
    caplog.set_level(logging.DEBUG)
    token = "Zx9-secret-token-in-the-path-0123456789abcdef"
    client.get(f"/compte/activation/{token}/")
    client.get(f"/nulle-part/{token}/")  # a 404 Django would log with its path
    assert len(request_lines(caplog)) == 2
    for record in caplog.records:
        assert token not in record.getMessage()
    assert not [r for r in caplog.records if r.name == "django.request"]
    [not_found] = [r for r in request_lines(caplog) if r.http["status"] == 404]
    assert not_found.levelno == logging.WARNING
    assert not_found.http["view"] == "<unmatched>"


def test_a_published_task_carries_the_request_id_and_actor_in_its_headers():
    with publishing_to("memory://"):
        with context.bound(request_id="abcdef0123456789", actor="user:7"):
            send_email.delay(42)
    with Connection("memory://") as conn:
        queue = conn.SimpleQueue("celery")
        message = queue.get(timeout=2)
        message.ack()
        queue.close()
    assert message.headers["task"] == "worker.tasks.send_email"
    assert message.headers[context.HEADER_REQUEST_ID] == "abcdef0123456789"
    assert message.headers[context.HEADER_ACTOR] == "user:7"


def test_a_worker_binds_the_headers_for_the_task_and_forgets_them_after(caplog):
    caplog.set_level(logging.INFO)

    class Task:
        name = "worker.tasks.send_email"
        request = Context(
            {
                "is_eager": False,
                context.HEADER_REQUEST_ID: "abcdef0123456789",
                context.HEADER_ACTOR: "user:7",
            }
        )

    telemetry.on_prerun(task_id="t-1", task=Task())
    logging.getLogger("worker.services").info("inside the task")
    telemetry.on_postrun(task_id="t-1", task=Task(), state="SUCCESS")
    logging.getLogger("worker.services").info("after the task")
    inside, after = [r for r in caplog.records if r.name == "worker.services"]
    assert (inside.request_id, inside.actor, inside.task) == (
        "abcdef0123456789",
        "user:7",
        "worker.tasks.send_email[t-1]",
    )
    assert (after.request_id, after.actor, after.task) == (None, None, None)


def _record(message, *args, exc_info=None, **attributes):
    record = logging.LogRecord(
        "apsupport.test", logging.ERROR, __file__, 1, message, args, exc_info
    )
    for name, value in attributes.items():
        setattr(record, name, value)
    return record


def test_json_lines_carry_the_context_and_mask_addresses():
    try:
        raise ValueError("refused for claire.dupont@exemple.fr")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = _record(
        "mail to %s failed",
        "Claire.Dupont@Exemple.fr",
        exc_info=exc_info,
        request_id="abcdef0123456789",
        actor="user:7",
        task=None,
        http={"status": 500},
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "apsupport.test"
    assert entry["message"] == "mail to [adresse masquée] failed"
    assert entry["request_id"] == "abcdef0123456789"
    assert entry["actor"] == "user:7"
    assert "task" not in entry
    assert entry["http"] == {"status": 500}
    assert entry["ts"].endswith("+00:00")
    assert "ValueError" in entry["exception"]
    assert "exemple.fr" not in line.lower()


def test_text_lines_for_a_terminal():
    line = TextFormatter().format(_record("hello %s", "x@y.fr", request_id="abc12345", actor=None))
    assert line.endswith("ERROR apsupport.test [abc12345] hello [adresse masquée]")
    assert TextFormatter().format(_record("no context")).endswith("[-] no context")
