"""Documents (DESIGN.md section 10): type read from the content, limits, sanitised names,
storage, previews rendered by the worker, access-checked downloads on the timeline,
rejection seen by the requester, retention, the API upload, the ticket page's budget."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from PIL import Image

from accounts.staff.services import api_key_create
from tests.factories import TicketFactory, UserFactory
from tests.support.documents import (
    ELF_BYTES,
    EXE_BYTES,
    HTML_BYTES,
    attach,
    followup_link,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    upload,
)
from tests.support.intake import submit
from tickets.documents import sanitize_filename
from tickets.models import (
    DocumentKind,
    DocumentStatus,
    EventKind,
    MessageKind,
    PreviewStatus,
    Status,
    TicketDocument,
    TicketMessage,
)
from tickets.services import ANONYMIZED, tickets_anonymize_expired

pytestmark = pytest.mark.django_db


def stored_files() -> list[str]:
    storage = storages["documents"]
    found: list[str] = []
    if not storage.exists(""):
        return found

    def walk(path):
        dirs, files = storage.listdir(path)
        found.extend(f"{path}/{f}".lstrip("/") for f in files)
        for d in dirs:
            walk(f"{path}/{d}".lstrip("/"))

    walk("")
    return found


@pytest.fixture
def requester(client, valid_request_data, django_capture_on_commit_callbacks):
    """A requester's browser on the follow-up page of a fresh request."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(valid_request_data).ticket
    [ack] = mail.outbox
    mail.outbox.clear()
    landing = client.get(followup_link(ack)[0])
    assert landing["Location"] == reverse("followup")
    client.ticket = ticket
    return client


def post_files(client, files: dict, body="Voici mes documents.", capture=None):
    data = {"body": body, **files}
    if capture is None:
        return client.post(reverse("followup"), data)
    with capture(execute=True):
        return client.post(reverse("followup"), data)


# --- What is accepted -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, name",
    [
        (HTML_BYTES, "kbis.pdf"),
        (EXE_BYTES, "piece-identite.pdf"),
        (ELF_BYTES, "photo.jpg"),
        (b"%!PS-Adobe-3.0 not a pdf", "mandat.pdf"),
    ],
)
def test_a_file_named_pdf_with_other_content_is_refused_in_french(requester, content, name):
    response = post_files(requester, {"files": [upload(name, content)]})
    assert response.status_code == 200
    body = response.content.decode()
    assert "n&#x27;est pas un document PDF, JPEG ou PNG" in body
    assert name.rsplit(".", 1)[0] in body
    # Nothing kept: no row, no message, no file.
    assert not TicketDocument.objects.exists()
    assert not TicketMessage.objects.filter(kind=MessageKind.REQUESTER_REPLY).exists()
    assert stored_files() == []
    # What the requester typed is still there.
    assert "Voici mes documents." in body


def test_pdf_jpeg_and_png_are_accepted_whatever_their_names(
    requester, django_capture_on_commit_callbacks
):
    files = [
        upload("scan.PDF", pdf_bytes()),
        upload("photo identité.jpeg", jpeg_bytes(), "application/octet-stream"),
        upload("capture.pdf", png_bytes()),  # a PNG named .pdf: its content decides
    ]
    response = post_files(requester, {"files": files}, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    documents = list(TicketDocument.objects.order_by("id"))
    assert [(d.name, d.content_type) for d in documents] == [
        ("scan.pdf", "application/pdf"),
        ("photo identité.jpg", "image/jpeg"),
        ("capture.png", "image/png"),
    ]
    message = TicketMessage.objects.get(kind=MessageKind.REQUESTER_REPLY)
    assert all(d.message_id == message.pk for d in documents)
    assert len(stored_files()) == 6  # three files and three previews
    # Stored under random names, never the requester's.
    assert all("scan" not in name and "photo" not in name for name in stored_files())
    assert all(d.preview_status == PreviewStatus.READY for d in documents)
    events = requester.ticket.events.filter(kind=EventKind.DOCUMENT_RECEIVED)
    assert events.count() == 3


def test_the_evidence_inputs_record_what_each_document_is(
    requester, agent, django_capture_on_commit_callbacks
):
    from tickets.services import ticket_request_documents

    ticket = requester.ticket
    with django_capture_on_commit_callbacks(execute=True):
        ticket_request_documents(
            ticket=ticket,
            actor=agent,
            body="Merci d'envoyer vos justificatifs.",
            kinds=[DocumentKind.KBIS, DocumentKind.IDENTITY],
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_ATTENTE
    [reply] = mail.outbox
    assert "Extrait Kbis de moins de trois mois" in reply.body
    assert "Pièce d'identité" in reply.body
    assert "Mandat" not in reply.body
    page = requester.get(reverse("followup")).content.decode()
    assert "Documents demandés" in page and "à envoyer" in page
    response = post_files(
        requester,
        {
            "file_kbis": upload("kbis.pdf", pdf_bytes()),
            "file_identity": upload("cni.jpg", jpeg_bytes()),
        },
    )
    assert response.status_code == 302
    kinds = dict(TicketDocument.objects.values_list("name", "kind"))
    assert kinds == {"kbis.pdf": DocumentKind.KBIS, "cni.jpg": DocumentKind.IDENTITY}
    page = requester.get(reverse("followup")).content.decode()
    assert "à envoyer" not in page


def test_an_oversize_file_is_refused(requester, settings):
    settings.DOCUMENT_MAX_MB = 1
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    big = pdf_bytes() + b"0" * (1024 * 1024)
    response = post_files(requester, {"files": [upload("gros.pdf", big)]})
    assert "dépasse la taille maximale de 1 Mo" in response.content.decode()
    assert not TicketDocument.objects.exists() and stored_files() == []


def test_a_body_far_over_the_limits_is_refused_before_it_is_read(requester, settings):
    settings.DOCUMENT_MAX_MB = 1
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    settings.DOCUMENTS_PER_MESSAGE = 1
    big = pdf_bytes() + b"0" * (3 * 1024 * 1024)
    response = post_files(requester, {"files": [upload("enorme.pdf", big)]})
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.content.decode()
    assert not TicketDocument.objects.exists()


def test_too_many_files_in_one_message_are_refused(requester, settings):
    settings.DOCUMENTS_PER_MESSAGE = 5
    files = [upload(f"page{i}.pdf", pdf_bytes()) for i in range(6)]
    response = post_files(requester, {"files": files})
    assert "Au plus 5 fichiers par envoi" in response.content.decode()
    assert not TicketDocument.objects.exists() and stored_files() == []


def test_too_many_files_on_one_ticket_are_refused(requester, settings):
    settings.DOCUMENTS_PER_TICKET = 3
    assert (
        post_files(
            requester, {"files": [upload(f"a{i}.pdf", pdf_bytes()) for i in range(2)]}
        ).status_code
        == 302
    )
    response = post_files(requester, {"files": [upload(f"{i}.pdf", pdf_bytes()) for i in range(2)]})
    assert "au plus 3 par demande" in response.content.decode()
    assert TicketDocument.objects.count() == 2
    assert len([n for n in stored_files() if not n.endswith("-apercu.png")]) == 2


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\fakepath\\Kbis société.PDF", "Kbis société.pdf"),
        ("/var/www/../.htaccess", "htaccess.pdf"),
        ("fac\x00ture\x1b[31m.pdf", "facture_31m.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe.pdf"),
        ("\u200bzero\u200dwidth\u2066.pdf", "zerowidth.pdf"),
        ("<img src=x onerror=alert(1)>.pdf", "img src_x onerror_alert(1).pdf"),
        ("...", "document.pdf"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_file_names_are_neutralised(raw, expected):
    assert sanitize_filename(raw, extension="pdf") == expected


def test_a_stored_name_with_rtl_override_is_shown_neutralised(requester, agent, verified_client):
    post_files(requester, {"files": [upload("facture\u202efdp.exe.pdf", pdf_bytes())]})
    [document] = TicketDocument.objects.all()
    assert "\u202e" not in document.name
    assert document.name == "facturefdp.exe.pdf"
    page = verified_client(agent).get(
        reverse("backoffice:ticket_detail", args=[document.ticket_id])
    )
    assert "\u202e" not in page.content.decode()


# --- Agents: download, preview, rejection --------------------------------------------------


def test_a_download_is_an_attachment_with_a_strict_policy_and_on_the_timeline(
    agent, verified_client
):
    ticket = TicketFactory()
    content = pdf_bytes()
    document = attach(ticket, name="kbis.pdf", content=content)
    response = verified_client(agent).get(
        reverse("backoffice:ticket_document_download", args=[ticket.pk, document.pk])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="kbis.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        response["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    assert "no-store" in response["Cache-Control"]
    event = ticket.events.get(kind=EventKind.DOCUMENT_DOWNLOADED)
    assert event.actor == agent
    assert event.data == {"document_id": document.pk, "name": "kbis.pdf"}


def test_an_agent_of_another_queue_gets_404_and_leaves_no_trace(other_agent, verified_client):
    ticket = TicketFactory()
    document = attach(ticket)
    client = verified_client(other_agent)
    for name in ("ticket_document_download", "ticket_document_preview"):
        response = client.get(reverse(f"backoffice:{name}", args=[ticket.pk, document.pk]))
        assert response.status_code == 404
    response = client.post(
        reverse("backoffice:ticket_document_reject", args=[ticket.pk, document.pk]),
        {"reason": "Non."},
    )
    assert response.status_code == 404
    document.refresh_from_db()
    assert document.status == DocumentStatus.RECEIVED
    assert not ticket.events.filter(
        kind__in=[EventKind.DOCUMENT_DOWNLOADED, EventKind.DOCUMENT_PREVIEWED]
    ).exists()


def test_a_document_id_of_another_ticket_is_not_found(agent, verified_client):
    mine, other = TicketFactory(), TicketFactory()
    document = attach(other)
    response = verified_client(agent).get(
        reverse("backoffice:ticket_document_download", args=[mine.pk, document.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize("content", [pdf_bytes(), jpeg_bytes()], ids=["pdf", "jpeg"])
def test_the_preview_is_a_png_rendered_by_the_worker(agent, verified_client, content):
    ticket = TicketFactory()
    document = attach(ticket, content=content, name="piece")
    assert document.preview_status == PreviewStatus.READY
    client = verified_client(agent)
    page = client.get(reverse("backoffice:ticket_detail", args=[ticket.pk])).content.decode()
    preview_url = reverse("backoffice:ticket_document_preview", args=[ticket.pk, document.pk])
    assert f'src="{preview_url}"' in page
    response = client.get(preview_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Security-Policy"].startswith("default-src 'none'; sandbox")
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.format == "PNG" and image.width <= 1000
    assert ticket.events.get(kind=EventKind.DOCUMENT_PREVIEWED).actor == agent


def test_a_file_that_cannot_be_rendered_has_no_preview(agent, verified_client):
    ticket = TicketFactory()
    document = attach(ticket, content=b"%PDF-1.4\n% truncated, no objects\n")
    assert document.preview_status == PreviewStatus.UNAVAILABLE
    page = verified_client(agent).get(reverse("backoffice:ticket_detail", args=[ticket.pk]))
    assert "Aperçu indisponible" in page.content.decode()
    response = verified_client(agent).get(
        reverse("backoffice:ticket_document_preview", args=[ticket.pk, document.pk])
    )
    assert response.status_code == 404


def test_a_rejection_and_its_reason_reach_the_requester(requester, agent, verified_client):
    post_files(requester, {"files": [upload("kbis.pdf", pdf_bytes())]})
    [document] = TicketDocument.objects.all()
    ticket = requester.ticket
    response = verified_client(agent).post(
        reverse("backoffice:ticket_document_reject", args=[ticket.pk, document.pk]),
        {"reason": "Extrait Kbis de plus de trois mois."},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == DocumentStatus.REJECTED
    assert document.rejected_by == agent
    event = ticket.events.get(kind=EventKind.DOCUMENT_REJECTED)
    assert event.actor == agent and event.data["reason"] == "Extrait Kbis de plus de trois mois."
    page = requester.get(reverse("followup")).content.decode()
    assert "refusé" in page and "Extrait Kbis de plus de trois mois." in page


def test_a_rejection_needs_a_reason(agent, verified_client):
    ticket = TicketFactory()
    document = attach(ticket)
    verified_client(agent).post(
        reverse("backoffice:ticket_document_reject", args=[ticket.pk, document.pk]), {"reason": ""}
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.RECEIVED


# --- Retention ------------------------------------------------------------------------------


def test_retention_deletes_documents_from_storage(settings):
    settings.TICKET_RETENTION_MONTHS = 24
    closed_at = datetime(2026, 1, 5, tzinfo=UTC)
    old = TicketFactory()
    kept = TicketFactory()
    attach(old, name="cni.jpg", content=jpeg_bytes())
    attach(old, name="kbis.pdf")
    attach(kept)
    type(old).objects.filter(pk__in=[old.pk, kept.pk]).update(
        status=Status.CLOS, closed_at=closed_at, resolved_at=closed_at
    )
    type(old).objects.filter(pk=kept.pk).update(closed_at=timezone.now())
    old_files = list(
        TicketDocument.objects.filter(ticket=old).values_list("storage_name", "preview_name")
    )
    storage = storages["documents"]
    assert all(storage.exists(n) for pair in old_files for n in pair)
    with freeze_time(datetime(2028, 3, 1, tzinfo=UTC)):
        assert tickets_anonymize_expired() == 1
    assert not any(storage.exists(n) for pair in old_files for n in pair)
    erased = TicketDocument.objects.filter(ticket=old)
    assert set(erased.values_list("name", "storage_name", "preview_name")) == {(ANONYMIZED, "", "")}
    assert all(d.erased_at for d in erased)
    [remaining] = TicketDocument.objects.filter(ticket=kept)
    assert storage.exists(remaining.storage_name)
    assert not old.followup_links.filter(revoked_at__isnull=True).exists()


def test_retention_keeps_a_ticket_whose_files_could_not_be_deleted(settings, monkeypatch):
    settings.TICKET_RETENTION_MONTHS = 24
    closed_at = datetime(2026, 1, 5, tzinfo=UTC)
    ticket = TicketFactory()
    document = attach(ticket)
    type(ticket).objects.filter(pk=ticket.pk).update(
        status=Status.CLOS, closed_at=closed_at, resolved_at=closed_at
    )
    storage = storages["documents"]

    def unavailable(name):
        raise OSError("storage unavailable")

    monkeypatch.setattr(type(storage), "delete", lambda self, name: unavailable(name))
    with freeze_time(datetime(2028, 3, 1, tzinfo=UTC)):
        assert tickets_anonymize_expired() == 0
    ticket.refresh_from_db()
    document.refresh_from_db()
    assert ticket.anonymized_at is None and document.erased_at is None
    monkeypatch.undo()
    with freeze_time(datetime(2028, 3, 1, tzinfo=UTC)):
        assert tickets_anonymize_expired() == 1
    assert not storage.exists(document.storage_name)


# --- The API ----------------------------------------------------------------------------------


@pytest.fixture
def api_key(db):
    return api_key_create(name="extranet")[1]


def api_upload(client, reference, content, *, name="kbis.pdf", kind="kbis", key=None):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    return client.post(
        f"/api/v1/assistance-requests/{reference}/documents",
        {"file": upload(name, content), "kind": kind},
        **headers,
    )


def test_the_api_accepts_a_document_for_a_request(client, api_key):
    ticket = TicketFactory(status=Status.EN_ATTENTE, sla_paused_at=timezone.now())
    response = api_upload(client, ticket.reference, pdf_bytes(), key=api_key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == ticket.reference
    assert body["status"] == Status.EN_COURS
    assert body["document"]["kind"] == "kbis"
    assert body["document"]["content_type"] == "application/pdf"
    document = TicketDocument.objects.get(pk=body["document"]["id"])
    assert document.source == "api" and document.ticket_id == ticket.pk


def test_the_api_refuses_other_content_missing_keys_unknown_and_closed_requests(client, api_key):
    ticket = TicketFactory()
    response = api_upload(client, ticket.reference, HTML_BYTES, key=api_key)
    assert response.status_code == 422
    assert "n'est pas un document PDF, JPEG ou PNG" in response.json()["errors"]["file"][0]
    assert api_upload(client, ticket.reference, pdf_bytes()).status_code == 401
    assert api_upload(client, "AP-2026-999999", pdf_bytes(), key=api_key).status_code == 404
    assert (
        api_upload(client, ticket.reference, pdf_bytes(), kind="passeport", key=api_key).status_code
        == 422
    )
    closed = TicketFactory(status=Status.CLOS, closed_at=timezone.now())
    response = api_upload(client, closed.reference, pdf_bytes(), key=api_key)
    assert response.status_code == 409
    assert not TicketDocument.objects.exists() and stored_files() == []


def test_the_upload_is_documented_in_openapi(client):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/v1/assistance-requests/{reference}/documents"]["post"]
    content = operation["requestBody"]["content"]
    assert "multipart/form-data" in content
    assert {"201", "401", "404", "409", "422"} <= set(operation["responses"])


# --- The ticket page ------------------------------------------------------------------------


def test_the_ticket_page_keeps_its_query_budget_with_20_messages_and_20_documents(
    agent, verified_client, settings, monkeypatch
):
    from tickets import selectors

    settings.DOCUMENTS_PER_TICKET = 20
    # The navigation counts and the assignee list are cached a few seconds, as in
    # production: keep them warm however slow the machine, to count the page itself.
    monkeypatch.setattr(selectors, "QUEUE_COUNTS_CACHE_SECONDS", 3600)
    monkeypatch.setattr(selectors, "ASSIGNABLE_CACHE_SECONDS", 3600)
    ticket = TicketFactory(assignee=agent, status=Status.EN_COURS)
    client = verified_client(agent)
    url = reverse("backoffice:ticket_detail", args=[ticket.pk])
    client.get(url)  # session, second factor and caches warm

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    small = count()
    author = UserFactory(queues=[ticket.queue])
    for i in range(20):
        TicketMessage.objects.create(
            ticket=ticket,
            kind=[MessageKind.REPLY, MessageKind.REQUESTER_REPLY, MessageKind.NOTE][i % 3],
            author=author if i % 3 != 1 else None,
            body=f"Message {i}",
            created_at=timezone.now(),
        )
    for i in range(20):
        attach(ticket, name=f"piece-{i}.pdf", render=i % 2 == 0)
    TicketDocument.objects.filter(
        ticket=ticket, pk__in=TicketDocument.objects.filter(ticket=ticket).values("pk")[:3]
    ).update(status=DocumentStatus.REJECTED, rejected_by=author, checked_by=agent)
    # The first view after the requester's documents also marks the ticket read (an UPDATE).
    first = count()
    steady = count()
    page = client.get(url).content.decode()
    assert page.count('id="document-') == 20
    assert "Message 19" in page
    # 13: one query for the canned replies offered in the reply box (issue 13).
    assert first <= 12, first
    assert steady <= 12, steady
    # Only a ticket with documents asks for them; the first view after the requester's
    # documents also marks the ticket read.
    assert steady == small + 1 and first == steady + 1
