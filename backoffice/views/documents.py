"""The requester's side, as agents work it on the ticket page: documents (download,
preview, rejection), the request for case 2.1's evidence, and a new follow-up link.

Thin: the access rule, the rules and the timeline are in ``tickets.documents``,
``tickets.followup`` and ``tickets.services``. A document is only ever sent to the
browser as an attachment, or as the PNG preview the worker rendered, with a CSP that
forbids everything (``default-src 'none'; sandbox``) and ``nosniff``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.documents import document_open, document_reject
from tickets.exceptions import TicketError, TicketNotFound
from tickets.followup import followup_link_renew
from tickets.forms import DocumentRejectForm, DocumentsRequestForm
from tickets.selectors import queue_counts_forget
from tickets.services import ticket_request_documents

from ..decorators import backoffice_required
from .tickets import _ticket_or_404

# Nothing a document could contain may run, load or frame anything.
FILE_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _file_response(handle, *, content_type: str, filename: str, attachment: bool):
    response = FileResponse(
        handle, as_attachment=attachment, filename=filename, content_type=content_type
    )
    response["Content-Security-Policy"] = FILE_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _open(request, pk: int, document_id: int, *, preview: bool):
    try:
        return document_open(
            actor=request.user, ticket_id=pk, document_id=document_id, preview=preview
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@backoffice_required
def ticket_document_download(request, pk, document_id):
    document, handle = _open(request, pk, document_id, preview=False)
    return _file_response(
        handle, content_type=document.content_type, filename=document.name, attachment=True
    )


@require_GET
@backoffice_required
def ticket_document_preview(request, pk, document_id):
    """The worker's PNG rendering of the document (first page of a PDF), inline: what the
    ticket page's ``<img>`` shows."""
    document, handle = _open(request, pk, document_id, preview=True)
    return _file_response(
        handle,
        content_type="image/png",
        filename=f"{document.name.rsplit('.', 1)[0]}-apercu.png",
        attachment=False,
    )


def _back(pk):
    return redirect("backoffice:ticket_detail", pk=pk)


@require_POST
@backoffice_required
def ticket_document_reject(request, pk, document_id):
    ticket = _ticket_or_404(request, pk)
    form = DocumentRejectForm(data=request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez le motif du refus : le demandeur le lira."))
        return _back(pk)
    try:
        document = document_reject(
            ticket=ticket,
            actor=request.user,
            document_id=document_id,
            reason=form.cleaned_data["reason"],
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Document « %(name)s » refusé : le demandeur voit le motif dans son espace de suivi.")
            % {"name": document.name},
        )
    return _back(pk)


@require_POST
@backoffice_required
def ticket_documents_request(request, pk):
    ticket = _ticket_or_404(request, pk)
    form = DocumentsRequestForm(data=request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Formulaire invalide : %(errors)s") % {"errors": errors})
        return _back(pk)
    try:
        ticket_request_documents(
            ticket=ticket,
            actor=request.user,
            body=form.cleaned_data["body"],
            kinds=form.cleaned_data["kinds"],
            expected_version=form.cleaned_data["version"],
        )
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        queue_counts_forget(user=request.user)
        messages.success(
            request,
            _(
                "Justificatifs demandés : la réponse part par courriel, avec le lien de suivi, "
                "et le ticket attend le demandeur."
            ),
        )
    return _back(pk)


@require_POST
@backoffice_required
def ticket_followup_link_renew(request, pk):
    ticket = _ticket_or_404(request, pk)
    try:
        followup_link_renew(ticket=ticket, actor=request.user)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Un nouveau lien de suivi part vers %(email)s ; les liens envoyés avant ne "
                "fonctionnent plus."
            )
            % {"email": ticket.email},
        )
    return _back(pk)
