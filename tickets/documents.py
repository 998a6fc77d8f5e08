"""Documents sent by requesters (DESIGN.md section 10): checked, stored, previewed,
downloaded, rejected, ticked by a reassignment's preparer, erased by retention.

Rules kept here, each tested in tests/tickets/test_documents.py:

* only PDF, JPEG and PNG, the type read from the file's first bytes (``filetype``), never
  from its name or the browser's Content-Type; at most ``DOCUMENT_MAX_BYTES`` each,
  ``DOCUMENTS_PER_MESSAGE`` per message and ``DOCUMENTS_PER_TICKET`` per ticket (rejected
  documents do not count); a refusal is a French ``DocumentRefused`` and nothing is kept;
* the requester's file name is kept for display only, sanitised (no path parts, no control
  or bidirectional-override characters, the extension of the real type); the file itself
  is stored under a random name in the ``documents`` storage (Django's storage API: a
  folder under ``var/`` by default, an S3-compatible bucket in production);
* agents never open the requester's file in their browser: the preview is a PNG the
  worker renders (first page of a PDF, without its forms or scripts; a reduced image),
  and the download is an attachment; both go through the access rule and each is a
  timeline event (who, when).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from worker.services import job_queue

from . import access
from .exceptions import ActionNotAllowed, DocumentRefused, TicketNotFound
from .models import (
    DocumentKind,
    DocumentStatus,
    EventKind,
    PreviewStatus,
    Ticket,
    TicketDocument,
    TicketMessage,
)
from .services.events import ticket_event_record

if TYPE_CHECKING:
    from accounts.staff.models import User
    from worker.models import OutboxJob

logger = logging.getLogger(__name__)

# Detected type → extension given to the stored file and to the displayed name.
ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# Extensions a requester's name may end with; replaced by the real type's.
_KNOWN_EXTENSIONS = {"pdf", "jpg", "jpeg", "png", "jpe", "jfif"}
HEAD_BYTES = 8192
NAME_MAX = 120
# The outbox job that renders a document's preview (registered in TicketsConfig.ready).
PREVIEW_JOB = "tickets.document_preview"
PREVIEW_MAX_WIDTH = 1000
PREVIEW_MAX_HEIGHT = 1400
# An image larger than this is not decoded for a preview (a decompression bomb).
PREVIEW_MAX_PIXELS = 40_000_000


def documents_storage() -> Storage:
    return storages["documents"]


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")
    return f"{max(1, round(size / 1024))} Ko"


# --- Checking what arrives --------------------------------------------------------------


def _clean(raw: str) -> str:
    """``raw``'s last path part, without control, format (bidirectional overrides,
    zero-width…) or unusual characters."""
    name = unicodedata.normalize("NFC", raw or "")
    # Path parts, whatever the separator (a browser on Windows may send C:\fakepath\…).
    name = re.split(r"[\\/]", name)[-1]
    # Cc (controls), Cf (bidi overrides, zero-width), Co/Cs/Cn (private, surrogates,
    # unassigned): never displayed, never kept.
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = re.sub(r"[^\w .,()'\-]", "_", name)
    return re.sub(r"\s+", " ", name).strip(" ._-")


def sanitize_filename(raw: str, *, extension: str) -> str:
    """A display name for a file the requester named ``raw``: cleaned (``_clean``), at
    most ``NAME_MAX`` characters, ending with the extension of its real type."""
    name = _clean(raw)
    stem, dot, ext = name.rpartition(".")
    if dot and ext.lower() in _KNOWN_EXTENSIONS:
        name = stem.rstrip(" ._-")
    name = name[: NAME_MAX - len(extension) - 1].rstrip(" ._-") or "document"
    return f"{name}.{extension}"


@dataclass(frozen=True)
class IncomingDocument:
    """A file as it arrived (a Django ``UploadedFile``), with what the requester said it is."""

    file: Any
    kind: str = DocumentKind.OTHER


@dataclass(frozen=True)
class CheckedDocument:
    file: Any
    kind: str
    name: str
    content_type: str
    extension: str
    size: int
    sha256: str


def _display(raw: str) -> str:
    """A file's name as a refusal message quotes it."""
    return _clean(raw)[:NAME_MAX] or _("sans nom")


def document_check(incoming: IncomingDocument) -> CheckedDocument:
    """Accept one file or refuse it with a French message naming it."""
    upload = incoming.file
    shown = _display(getattr(upload, "name", "") or "")
    kind = incoming.kind if incoming.kind in DocumentKind.values else None
    if kind is None:
        raise DocumentRefused(_("Nature de document inconnue."), field="kind")
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise DocumentRefused(_("Le fichier « %(name)s » est vide.") % {"name": shown})
    if size > settings.DOCUMENT_MAX_BYTES:
        raise DocumentRefused(
            _("Le fichier « %(name)s » dépasse la taille maximale de %(max)s Mo.")
            % {"name": shown, "max": settings.DOCUMENT_MAX_MB}
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    guessed = filetype.guess(head)
    content_type = guessed.mime if guessed is not None else ""
    if content_type not in ALLOWED_TYPES:
        raise DocumentRefused(
            _(
                "Le fichier « %(name)s » n'est pas un document PDF, JPEG ou PNG : son contenu "
                "ne correspond à aucun de ces formats, quel que soit son nom."
            )
            % {"name": shown}
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    extension = ALLOWED_TYPES[content_type]
    return CheckedDocument(
        file=upload,
        kind=kind,
        name=sanitize_filename(getattr(upload, "name", "") or "", extension=extension),
        content_type=content_type,
        extension=extension,
        size=size,
        sha256=digest.hexdigest(),
    )


def documents_check(incoming: Iterable[IncomingDocument]) -> list[CheckedDocument]:
    """Check the files of one message: each one, and their number."""
    files = list(incoming)
    if len(files) > settings.DOCUMENTS_PER_MESSAGE:
        raise DocumentRefused(
            _("Au plus %(max)s fichiers par envoi : vous en avez joint %(count)s.")
            % {"max": settings.DOCUMENTS_PER_MESSAGE, "count": len(files)}
        )
    return [document_check(f) for f in files]


# --- Storing ----------------------------------------------------------------------------


def documents_store(*, ticket_id: int, checked: list[CheckedDocument]) -> list[str]:
    """Write the files to the documents storage under random names; returns the names.
    Called before the transaction that records them: the caller deletes them
    (``storage_delete``) if that transaction fails."""
    storage = documents_storage()
    names: list[str] = []
    try:
        for document in checked:
            document.file.seek(0)
            names.append(
                storage.save(
                    f"tickets/{ticket_id}/{uuid.uuid4().hex}.{document.extension}",
                    File(document.file),
                )
            )
    except Exception:
        storage_delete(names)
        raise
    return names


def storage_delete(names: Iterable[str]) -> None:
    """Delete files from the documents storage (missing files are no error)."""
    storage = documents_storage()
    for name in names:
        if name:
            storage.delete(name)


def documents_record(
    *,
    locked: Ticket,
    checked: list[CheckedDocument],
    stored: list[str],
    source: str,
    message: TicketMessage | None,
    now: datetime,
) -> list[TicketDocument]:
    """Record stored files on a locked ticket, inside the caller's transaction: the rows,
    a ``document_received`` event each, a preview job each. Refuses past the per-ticket
    limit (counted under the lock)."""
    kept = TicketDocument.objects.filter(
        ticket_id=locked.pk, status=DocumentStatus.RECEIVED, erased_at__isnull=True
    ).count()
    if kept + len(checked) > settings.DOCUMENTS_PER_TICKET:
        raise DocumentRefused(
            _(
                "Cette demande a déjà reçu %(count)s document(s) : au plus %(max)s par demande. "
                "Envoyez seulement les documents qui manquent."
            )
            % {"count": kept, "max": settings.DOCUMENTS_PER_TICKET}
        )
    documents = []
    for document, storage_name in zip(checked, stored, strict=True):
        row = TicketDocument.objects.create(
            ticket=locked,
            message=message,
            kind=document.kind,
            source=source,
            name=document.name,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
            storage_name=storage_name,
            created_at=now,
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.DOCUMENT_RECEIVED,
            data={
                "document_id": row.pk,
                "name": row.name,
                "kind": row.kind,
                "source": source,
                "size": row.size,
            },
        )
        job_queue(kind=PREVIEW_JOB, payload={"document_id": row.pk}, ticket_id=locked.pk)
        documents.append(row)
    return documents


# --- Agents ---------------------------------------------------------------------------------


def _document_of(ticket: Ticket, document_id: int) -> TicketDocument:
    document = (
        TicketDocument.objects.filter(ticket_id=ticket.pk, pk=document_id, erased_at__isnull=True)
        .select_related("ticket")
        .first()
    )
    if document is None:
        raise TicketNotFound(_("Ce document n'existe pas ou ne vous est pas accessible."))
    return document


def document_open(*, actor: User, ticket_id: int, document_id: int, preview: bool) -> tuple:
    """Open a document (or its preview) for ``actor``, through the access rule, and put
    the access on the ticket's timeline. Returns ``(document, file)``; the caller streams
    the file and closes it."""
    ticket = access.ticket_for(actor, pk=ticket_id, select_related=())
    document = _document_of(ticket, document_id)
    if preview and document.preview_status != PreviewStatus.READY:
        raise TicketNotFound(_("L'aperçu de ce document n'est pas disponible."))
    name = document.preview_name if preview else document.storage_name
    handle = documents_storage().open(name, "rb")
    ticket_event_record(
        ticket=ticket,
        kind=EventKind.DOCUMENT_PREVIEWED if preview else EventKind.DOCUMENT_DOWNLOADED,
        actor=actor,
        data={"document_id": document.pk, "name": document.name},
    )
    return document, handle


def document_reject(
    *, ticket: Ticket, actor: User, document_id: int, reason: str
) -> TicketDocument:
    """Mark a document as rejected, with a reason the requester reads on the follow-up
    page. It no longer counts towards the ticket's limit."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionNotAllowed(_("Indiquez le motif du refus : le demandeur le lira."))
    with transaction.atomic():
        locked = access.ticket_lock_for(actor, pk=ticket.pk)
        document = _document_of(locked, document_id)
        if document.status == DocumentStatus.REJECTED:
            raise ActionNotAllowed(_("Ce document est déjà refusé."))
        now = timezone.now()
        TicketDocument.objects.filter(pk=document.pk).update(
            status=DocumentStatus.REJECTED,
            rejection_reason=reason[:2000],
            rejected_by=actor,
            rejected_at=now,
        )
        ticket_event_record(
            ticket=locked,
            kind=EventKind.DOCUMENT_REJECTED,
            actor=actor,
            data={"document_id": document.pk, "name": document.name, "reason": reason[:2000]},
        )
    document.refresh_from_db()
    return document


def documents_mark_checked(
    *, locked: Ticket, actor: User, document_ids: Collection[int]
) -> list[TicketDocument]:
    """The preparer of a reassignment ticks the documents it checked (case 2.1). Inside
    the caller's transaction, on a ticket it locked. Only received documents of this
    ticket can be ticked."""
    ids = {int(pk) for pk in document_ids}
    if not ids:
        return []
    documents = list(
        TicketDocument.objects.filter(
            ticket_id=locked.pk, pk__in=ids, status=DocumentStatus.RECEIVED, erased_at__isnull=True
        ).order_by("created_at", "id")
    )
    if len(documents) != len(ids):
        raise ActionNotAllowed(
            _("Un document coché n'appartient pas à cette demande ou a été refusé.")
        )
    now = timezone.now()
    TicketDocument.objects.filter(pk__in=ids).update(checked_by=actor, checked_at=now)
    for document in documents:
        document.checked_by = actor
        document.checked_at = now
    return documents


# --- Reads ----------------------------------------------------------------------------------


def documents_for_ticket(*, ticket: Ticket) -> list[TicketDocument]:
    """The ticket's documents (not erased), oldest first, with who rejected or checked
    them: one query."""
    return list(
        TicketDocument.objects.filter(ticket_id=ticket.pk, erased_at__isnull=True)
        .select_related("rejected_by", "checked_by")
        .order_by("created_at", "id")
    )


# --- The worker: previews -----------------------------------------------------------------


def _render_png(data: bytes, content_type: str) -> bytes:
    """A PNG of the first page of a PDF, or of a reduced image. PDFium renders the page
    without initialising its forms, so no script in the PDF runs."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageOps

    if content_type == "application/pdf":
        pdf = pdfium.PdfDocument(data)
        try:
            if len(pdf) == 0:
                raise ValueError("empty PDF")
            page = pdf[0]
            width, height = page.get_size()
            scale = min(PREVIEW_MAX_WIDTH / width, PREVIEW_MAX_HEIGHT / height, 3.0)
            image = page.render(scale=scale).to_pil()
        finally:
            pdf.close()
    else:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > PREVIEW_MAX_PIXELS:
                raise ValueError("image too large to preview")
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((PREVIEW_MAX_WIDTH, PREVIEW_MAX_HEIGHT))
            image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def document_preview_render(job: OutboxJob) -> None:
    """Outbox job: render the preview of one document (idempotent). A file that cannot be
    rendered gets an "unavailable" preview (agents download it instead); a storage that
    cannot be read raises, and the outbox tries again later."""
    document = TicketDocument.objects.filter(
        pk=job.context.get("document_id"), erased_at__isnull=True
    ).first()
    if document is None or document.preview_status == PreviewStatus.READY:
        return
    storage = documents_storage()
    with storage.open(document.storage_name, "rb") as handle:
        data = handle.read()
    try:
        png = _render_png(data, document.content_type)
    except Exception as exc:  # noqa: BLE001 - any decoding failure: no preview, not a retry.
        logger.warning(
            "No preview for document %s (%s): %s", document.pk, document.type_label, type(exc)
        )
        TicketDocument.objects.filter(pk=document.pk).update(
            preview_status=PreviewStatus.UNAVAILABLE
        )
        return
    base = document.storage_name.rsplit(".", 1)[0]
    name = storage.save(f"{base}-apercu.png", ContentFile(png))
    TicketDocument.objects.filter(pk=document.pk).update(
        preview_name=name, preview_status=PreviewStatus.READY
    )


# --- Retention ------------------------------------------------------------------------------


def documents_erase(*, ticket_ids: Collection[int], now: datetime, anonymized: str) -> set[int]:
    """Delete the files of these tickets' documents from the storage, then erase their
    names. Returns the tickets whose files are all gone; a ticket whose storage failed is
    left for the next run (its rows untouched)."""
    documents = list(
        TicketDocument.objects.filter(ticket_id__in=ticket_ids, erased_at__isnull=True).values_list(
            "pk", "ticket_id", "storage_name", "preview_name"
        )
    )
    failed: set[int] = set()
    erased: list[int] = []
    for pk, ticket_id, storage_name, preview_name in documents:
        if ticket_id in failed:
            continue
        try:
            storage_delete([storage_name, preview_name])
        except Exception as exc:  # noqa: BLE001 - keep the rest of the batch going.
            logger.warning("Document %s not deleted from storage: %s", pk, type(exc).__name__)
            failed.add(ticket_id)
            continue
        erased.append(pk)
    TicketDocument.objects.filter(pk__in=erased).exclude(ticket_id__in=failed).update(
        name=anonymized,
        storage_name="",
        preview_name="",
        sha256="",
        rejection_reason="",
        erased_at=now,
    )
    return set(ticket_ids) - failed
