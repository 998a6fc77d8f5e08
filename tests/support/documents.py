"""Real files for the document tests (a PDF, a JPEG, a PNG made by Pillow, and impostors),
and a helper that attaches them to a ticket the way the extranet's API does."""

from __future__ import annotations

import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image, ImageDraw

from tickets.documents import IncomingDocument
from tickets.models import DocumentKind, Ticket, TicketDocument
from tickets.services.requester import api_documents_receive


def image_bytes(fmt: str, size=(320, 200), color=(0, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def _page() -> Image.Image:
    page = Image.new("RGB", (595, 842), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((60, 60, 535, 130), fill=(0, 0, 145))
    for y in range(180, 700, 30):
        draw.rectangle((60, y, 60 + (y * 7) % 400 + 75, y + 12), fill=(60, 60, 60))
    return page


def pdf_bytes(pages: int = 1) -> bytes:
    """A real PDF (Pillow writes one page per image), with something drawn on it."""
    buffer = io.BytesIO()
    first, *rest = [_page() for _ in range(pages)]
    first.save(buffer, "PDF", save_all=True, append_images=rest)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


def png_bytes() -> bytes:
    return image_bytes("PNG")


HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
# The start of a Windows executable (MZ header) and of an ELF binary.
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def upload(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def attach(
    ticket: Ticket,
    *,
    name: str = "kbis.pdf",
    content: bytes | None = None,
    kind: str = DocumentKind.KBIS,
    render: bool = True,
) -> TicketDocument:
    """Attach one document through the API's service; with ``render``, the preview job
    runs (its on-commit hand-over is executed, as the worker would)."""
    content = pdf_bytes() if content is None else content
    incoming = [IncomingDocument(file=upload(name, content), kind=kind)]
    if render:
        with TestCase.captureOnCommitCallbacks(execute=True):
            result = api_documents_receive(reference=ticket.reference, documents=incoming)
    else:
        result = api_documents_receive(reference=ticket.reference, documents=incoming)
    [document] = result.documents
    document.refresh_from_db()
    return document


FOLLOWUP_LINK_RE = re.compile(r"https?://\S+?(/suivi/([^/\s]+)/)")


def followup_link(message) -> tuple[str, str]:
    """The (path, raw token) of the follow-up link in an e-mail's body."""
    found = FOLLOWUP_LINK_RE.findall(message.body)
    assert len(found) == 1, message.body
    return found[0]
