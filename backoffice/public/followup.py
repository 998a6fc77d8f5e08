"""The requester's follow-up page (DESIGN.md section 10): ``/suivi/<token>/`` lands,
``/suivi/`` shows the request and takes the answer with documents.

Every URL of this flow that holds a secret is under ``/suivi/<token>/`` (for the log
redaction). The landing page keeps the token's hash in the session and redirects at once
to the token-free ``/suivi/`` (``Referrer-Policy: no-referrer``), whether the link works or
not: a refused token is answered by a redirect to a token-free page, so no "Gone" log line
ever carries it. The page itself sends ``same-origin`` (its POST needs an Origin that
Django's CSRF check accepts, see ``recovery.py``).

The answer's upload is bounded before Django reads the body: the view is exempt from the
CSRF middleware (which would parse the body first) and checks CSRF itself once the size is
known to be acceptable.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from backoffice.public.ratelimit import client_ip, rate_limit_exceeded
from tickets.exceptions import DocumentRefused, RequesterReplyRefused
from tickets.followup import followup_link_find, followup_link_land, followup_page, token_digest
from tickets.forms import FollowUpReplyForm
from tickets.services.requester import followup_reply

from .extranet import too_many_requests
from .recovery import no_referrer, same_origin_referrer

SESSION_FOLLOWUP = "followup_link_hash"
# Slack over the files' own limit for the message and the multipart framing.
BODY_SLACK_BYTES = 1024 * 1024


@no_referrer
@require_http_methods(["GET"])
def followup_landing(request, token):
    link = followup_link_land(token_hash=token_digest(token))
    if link is None:
        request.session.pop(SESSION_FOLLOWUP, None)
        return redirect("followup_invalid")
    request.session[SESSION_FOLLOWUP] = link.token_hash
    return redirect("followup")


@same_origin_referrer
@require_http_methods(["GET"])
def followup_invalid(request):
    return render(
        request,
        "public/followup/invalid.html",
        {"days": settings.FOLLOWUP_LINK_DAYS_AFTER_CLOSE},
        status=410,
    )


def _too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    limit = settings.DOCUMENTS_PER_MESSAGE * settings.DOCUMENT_MAX_BYTES + BODY_SLACK_BYTES
    return length > limit


@csrf_exempt
@same_origin_referrer
@require_http_methods(["GET", "POST"])
def followup(request):
    if request.method == "POST" and _too_large(request):
        return render(
            request,
            "public/followup/too_large.html",
            {
                "max_files": settings.DOCUMENTS_PER_MESSAGE,
                "max_mb": settings.DOCUMENT_MAX_MB,
            },
            status=413,
        )
    return _followup(request)


def _limited(request, ticket_id: int) -> bool:
    by_ip = rate_limit_exceeded(
        request,
        scope="followup-ip",
        key=client_ip(request),
        limit=settings.FOLLOWUP_POSTS_PER_IP_PER_HOUR,
        window_seconds=3600,
    )
    by_ticket = rate_limit_exceeded(
        request,
        scope="followup-ticket",
        key=f"ticket:{ticket_id}",
        limit=settings.FOLLOWUP_POSTS_PER_TICKET_PER_HOUR,
        window_seconds=3600,
    )
    return by_ip or by_ticket


@csrf_protect
def _followup(request):
    link = followup_link_find(token_hash=request.session.get(SESSION_FOLLOWUP, ""))
    if link is None:
        request.session.pop(SESSION_FOLLOWUP, None)
        return redirect("followup_invalid")
    page = followup_page(ticket=link.ticket)
    expected = [(item.kind, item.label) for item in page.expected]
    if request.method == "POST":
        if _limited(request, link.ticket_id):
            return too_many_requests(request)
        form = FollowUpReplyForm(data=request.POST, files=request.FILES, expected=expected)
        if form.is_valid():
            try:
                result = followup_reply(
                    link=link, body=form.cleaned_data["body"], documents=form.incoming()
                )
            except (DocumentRefused, RequesterReplyRefused) as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                count = len(result.documents)
                messages.success(
                    request,
                    _("Votre réponse est transmise à l'équipe d'assistance.")
                    + (" " + _("Documents reçus : %(count)s.") % {"count": count} if count else ""),
                )
                return redirect("followup")
    else:
        form = FollowUpReplyForm(expected=expected)
    return render(
        request,
        "public/followup/page.html",
        {
            "page": page,
            "form": form,
            "max_files": settings.DOCUMENTS_PER_MESSAGE,
            "max_mb": settings.DOCUMENT_MAX_MB,
        },
    )
