"""/metrics: every series the operator watches, in Prometheus' format, each one moved by
what it counts; refused to anyone without the token (or on loopback without a proxy); a
scrape costs the same few queries whatever the data."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from accounts.extranet.links import recovery_links_expire_sweep
from accounts.extranet.models import AccountReassignment, LinkPurpose, RecoveryLink
from backoffice.ops.tasks import metrics_rollup
from tests.factories import ExtranetAccountFactory, TicketFactory, UserFactory
from tickets.models import Queue, Status
from tickets.services import sla_breaches_mark
from worker import services
from worker.tasks import heartbeat, outbox_sweep

from .helpers import OPS_TOKEN, REMOTE, families, scrape, value

pytestmark = pytest.mark.django_db

AT_10H = datetime(2026, 3, 2, 10, tzinfo=UTC).timestamp()  # freeze_time("2026-03-02 10:00:00")


def queue_email(template="ticket_acknowledgement", *, ticket=None):
    ticket = ticket or TicketFactory()
    return services.email_queue(
        template=template,
        to_email=ticket.email,
        ticket_id=ticket.pk,
        context={
            "reference": ticket.reference,
            "requester_name": "Claire",
            "motif": "Autres",
            "siret": ticket.siret,
            "attached": False,
        },
    )


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_callers_are_refused_and_see_no_figure(client):
    response = client.get("/metrics", **REMOTE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"apsupport_" not in response.content
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token", **REMOTE)
    assert wrong.status_code == 401


def test_a_wrong_token_is_refused_even_from_this_machine(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_loopback_is_trusted_only_without_a_proxy_in_between(client, settings):
    assert client.get("/metrics").status_code == 200  # 127.0.0.1, no forwarding header
    # Through the reverse proxy on this machine: an outside caller, whatever REMOTE_ADDR says.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 401
    assert client.get("/metrics", HTTP_X_FORWARDED_PROTO="https").status_code == 401
    settings.OPS_LOOPBACK_ACCESS = False  # production's default
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {OPS_TOKEN}").status_code == 200


def test_a_logged_in_agent_is_no_operator(verified_client, agent):
    assert verified_client(agent).get("/metrics", **REMOTE).status_code == 401


# --- Each series ----------------------------------------------------------------------------


def test_request_latency_by_view_method_and_status(client):
    name = "apsupport_http_request_duration_seconds_count"
    before = value(scrape(client), name, view="home", method="GET", status=200) or 0
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/nulle-part/").status_code == 404
    text = scrape(client)
    assert value(text, name, view="home", method="GET", status=200) == before + 2
    assert value(text, name, view="<unmatched>", method="GET", status=404) >= 1
    assert families(text)["apsupport_http_request_duration_seconds"] == "histogram"


def test_outbox_backlog_and_age_of_the_oldest_job_not_done(
    client, django_capture_on_commit_callbacks
):
    text = scrape(client)
    assert value(text, "apsupport_outbox_backlog_jobs") == 0
    assert value(text, "apsupport_outbox_oldest_pending_age_seconds") == 0
    with freeze_time("2026-03-02 10:00:00"):
        queue_email()  # never handed over: no on-commit in this test's transaction
    with freeze_time("2026-03-02 10:05:00"):
        queue_email()
    with freeze_time("2026-03-02 10:10:00"):
        text = scrape(client)
    assert value(text, "apsupport_outbox_backlog_jobs") == 2
    assert value(text, "apsupport_outbox_oldest_pending_age_seconds") == 600
    # Sent: no longer in the backlog.
    with django_capture_on_commit_callbacks(execute=True):
        queue_email()
    services.outbox_sweep()
    assert value(scrape(client), "apsupport_outbox_backlog_jobs") == 0


def test_emails_sent_and_failed_by_template(client, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue_email("ticket_acknowledgement")
        queue_email("ticket_acknowledgement")
    settings.EMAIL_MAX_ATTEMPTS = 1
    with mock.patch(
        "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("x")
    ):
        with django_capture_on_commit_callbacks(execute=True):
            queue_email("ticket_acknowledgement")
    text = scrape(client)
    assert value(text, "apsupport_emails_sent_total", template="ticket_acknowledgement") == 2
    assert value(text, "apsupport_emails_failed_total", template="ticket_acknowledgement") == 1
    assert families(text)["apsupport_emails_sent"] == "counter"


def test_open_tickets_by_queue_and_status_come_from_beats_rollup(client):
    habilitation, general = (
        Queue.objects.get(slug="habilitation"),
        Queue.objects.get(slug="general"),
    )
    TicketFactory.create_batch(3, queue=habilitation, status=Status.NOUVEAU)
    TicketFactory(queue=habilitation, status=Status.EN_ATTENTE)
    TicketFactory(queue=general, status=Status.EN_COURS)
    TicketFactory(queue=general, status=Status.CLOS)
    # Not counted at scrape time: only once beat's rollup ran.
    assert (
        value(scrape(client), "apsupport_open_tickets", queue="habilitation", status="nouveau")
        is None
    )
    with freeze_time("2026-03-02 10:00:00"):
        metrics_rollup.delay()
    text = scrape(client)
    assert value(text, "apsupport_open_tickets", queue="habilitation", status="nouveau") == 3
    assert value(text, "apsupport_open_tickets", queue="habilitation", status="en_attente") == 1
    assert value(text, "apsupport_open_tickets", queue="general", status="en_cours") == 1
    assert value(text, "apsupport_open_tickets", queue="general", status="nouveau") == 0
    assert value(text, "apsupport_open_tickets", queue="general", status="clos") is None
    assert value(text, "apsupport_rollup_timestamp_seconds") == pytest.approx(AT_10H)


def test_sla_breaches_marked_and_open_tickets_past_their_target(client):
    late = TicketFactory(sla_first_response_due=timezone.now() - timedelta(hours=1))
    TicketFactory(sla_first_response_due=timezone.now() + timedelta(hours=1))
    assert sla_breaches_mark() == {"first_response": 1, "resolution": 0}
    assert sla_breaches_mark() == {"first_response": 0, "resolution": 0}  # once per target
    metrics_rollup.delay()
    text = scrape(client)
    assert value(text, "apsupport_sla_breaches_total", target="first_response") == 1
    assert value(text, "apsupport_sla_breaches_total", target="resolution") is None
    queue = late.queue.slug
    assert (
        value(text, "apsupport_open_tickets_sla_breached", queue=queue, target="first_response")
        == 1
    )
    assert value(text, "apsupport_open_tickets_sla_breached", queue=queue, target="resolution") == 0


def test_reassignments_by_state(client, agent):
    ticket = TicketFactory()
    for state in ("prepared", "prepared", "approved", "applied"):
        AccountReassignment.objects.create(
            ticket=ticket,
            account=ExtranetAccountFactory(),
            new_holder_last_name="Durand",
            new_holder_first_name="Léa",
            new_holder_email="lea.durand@boulangerie.example",
            new_holder_phone="+33102030405",
            evidence_notes="Kbis vérifié.",
            previous_holder_email="ancien@boulangerie.example",
            previous_holder_name="Ancien Titulaire",
            prepared_by=UserFactory(),
            prepared_at=timezone.now(),
            state=state,
        )
    metrics_rollup.delay()
    text = scrape(client)
    assert value(text, "apsupport_reassignments", state="prepared") == 2
    assert value(text, "apsupport_reassignments", state="approved") == 1
    assert value(text, "apsupport_reassignments", state="applied") == 1
    assert value(text, "apsupport_reassignments", state="objected") == 0


def test_link_sweeps_count_the_links_expired_and_time_the_sweep(client):
    now = timezone.now()
    for minutes in (61, 90, 30):  # two past their 60 minutes, one still valid
        RecoveryLink.objects.create(
            account=ExtranetAccountFactory(),
            purpose=LinkPurpose.PASSWORD_RESET,
            created_at=now - timedelta(minutes=minutes),
            sent_at=now - timedelta(minutes=minutes),
            expires_at=now - timedelta(minutes=minutes - 60),
        )
    assert recovery_links_expire_sweep() == 2
    assert recovery_links_expire_sweep() == 0
    text = scrape(client)
    assert value(text, "apsupport_recovery_links_expired_total") == 2
    assert value(text, "apsupport_link_sweep_duration_seconds_count") == 2
    assert value(text, "apsupport_link_sweep_duration_seconds_bucket", le="+Inf") == 2
    assert value(text, "apsupport_link_sweep_duration_seconds_sum") >= 0


def test_beat_task_durations_failures_and_last_success(client):
    task = "worker.tasks.outbox_sweep"
    with freeze_time("2026-03-02 10:00:00"):
        outbox_sweep.delay()
        outbox_sweep.delay()
    with mock.patch("worker.services.outbox_sweep", side_effect=RuntimeError("boom")):
        result = outbox_sweep.apply(throw=False)
    assert result.failed()
    text = scrape(client)
    assert value(text, "apsupport_beat_task_duration_seconds_count", task=task) == 3
    assert value(text, "apsupport_beat_task_duration_seconds_bucket", task=task, le="+Inf") == 3
    assert value(text, "apsupport_beat_task_failures_total", task=task) == 1
    assert value(text, "apsupport_beat_task_last_success_timestamp_seconds", task=task) == (AT_10H)
    # A task beat does not schedule is not a beat task.
    assert "worker.tasks.send_email" not in text


def test_the_heartbeats_are_exposed(client):
    with freeze_time("2026-03-02 10:00:00"):
        heartbeat.delay()
    text = scrape(client)
    assert value(text, "apsupport_worker_last_heartbeat_timestamp_seconds") == (AT_10H)


def test_a_scrape_costs_the_same_queries_whatever_the_data(client, django_assert_num_queries):
    scrape(client)  # the first request of a process loads what it caches
    with django_assert_num_queries(3):  # stored series, backlog, oldest job
        scrape(Client())
    TicketFactory.create_batch(20)
    metrics_rollup.delay()
    for _ in range(5):
        queue_email()
    with django_assert_num_queries(3):
        scrape(Client())
