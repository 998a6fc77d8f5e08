"""SIRET verification on a ticket: the checks, and the agent's verdict. The ticket page
loads the panel (``_siret_verification.html``) through htmx. The ticket is looked up
through the access rule: an agent of another queue gets a 404, never a hint that the
ticket exists.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backoffice.decorators import backoffice_required
from tickets import access
from tickets.exceptions import SiretVerificationRefused, TicketNotFound
from tickets.forms import SiretVerificationForm
from tickets.models import Ticket
from tickets.verification import (
    ticket_siret_checks,
    ticket_siret_verifications,
    ticket_siret_verify,
)


def siret_verification_context(
    *, ticket: Ticket, form: SiretVerificationForm | None = None, next_url: str = ""
) -> dict:
    """The context of ``_siret_verification.html``, for this page and the ticket page."""
    return {
        "ticket": ticket,
        "checks": ticket_siret_checks(ticket=ticket),
        "verifications": list(ticket_siret_verifications(ticket)),
        "form": form if form is not None else SiretVerificationForm(),
        "action_url": reverse("backoffice:ticket_siret_verify", args=[ticket.pk]),
        "next_url": next_url,
    }


def _safe_next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@backoffice_required
@require_http_methods(["GET", "POST"])
def ticket_siret_verify_view(request, pk: int):
    try:
        ticket = access.ticket_for(request.user, pk=pk)
    except TicketNotFound as exc:
        raise Http404(exc.message) from exc
    next_url = _safe_next(request)
    status = 200
    if request.method == "POST":
        form = SiretVerificationForm(data=request.POST)
        if form.is_valid():
            try:
                verification = ticket_siret_verify(
                    ticket=ticket,
                    actor=request.user,
                    verdict=form.cleaned_data["verdict"],
                    comment=form.cleaned_data["comment"],
                    name_justification=form.cleaned_data["name_justification"],
                )
            except SiretVerificationRefused as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(
                    request,
                    _("Verdict enregistré : %(verdict)s.")
                    % {"verdict": verification.get_verdict_display()},
                )
                # Post/redirect/get: a reload does not record the verdict twice.
                return redirect(next_url or request.path)
        status = 400
    else:
        form = SiretVerificationForm()
    context = siret_verification_context(ticket=ticket, form=form, next_url=next_url)
    template = (
        "backoffice/tickets/_siret_verification.html"
        if getattr(request, "htmx", False)
        else "backoffice/tickets/siret_verification.html"
    )
    return render(request, template, context, status=status)
