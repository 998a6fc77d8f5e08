"""S6 and the link landing pages: "J'ai oublié mon identifiant / mon mot de passe", the
activation and reset pages, and the public objection page of a reassignment.

The forgot forms answer the same way whatever was typed: a redirect to one static page.
A link's token is taken out of the URL at once (kept in the session as its hash): the
landing pages, whose URL holds the token, send ``Referrer-Policy: no-referrer`` so it never
leaks. The form pages behind them have no token in their URL and send ``same-origin``: with
``no-referrer`` the browser sends ``Origin: null`` on their POST, which Django's CSRF check
refuses (403), so nobody could choose a password.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.extranet.exceptions import LinkInvalid, ReassignmentRefused
from accounts.extranet.forms import ForgotIdentifiantForm, ForgotPasswordForm, SetPasswordForm
from accounts.extranet.links import (
    recovery_link_find_usable,
    recovery_link_use,
    recovery_request_record,
    token_digest,
)
from accounts.extranet.models import LinkPurpose, RecoveryRequestPurpose
from accounts.extranet.reassignment import reassignment_find_for_objection, reassignment_object
from backoffice.public.ratelimit import client_ip, keyed_digest

from .extranet import public_form_limited, too_many_requests

SESSION_LINK = {
    LinkPurpose.ACTIVATION: "activation_link_hash",
    LinkPurpose.PASSWORD_RESET: "reset_link_hash",
}
SESSION_OBJECTION = "objection_token_hash"
CLEAN_URL_NAMES = {
    LinkPurpose.ACTIVATION: "activation_set_password",
    LinkPurpose.PASSWORD_RESET: "reset_set_password",
}


def _referrer_policy(policy: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Referrer-Policy"] = policy
            response["Cache-Control"] = "no-store"
            return response

        return wrapper

    return decorator


# Pages whose URL holds a raw token.
no_referrer = _referrer_policy("no-referrer")
# Token-free form pages of the flow: the referrer (and Origin) stay on this site only.
same_origin_referrer = _referrer_policy("same-origin")


def _forgot(request, *, form_class, purpose, field, template):
    if request.method == "POST":
        if public_form_limited(request, "forgot"):
            return too_many_requests(request)
        form = form_class(data=request.POST)
        if form.is_valid():
            recovery_request_record(
                purpose=purpose,
                lookup=form.cleaned_data[field],
                requested_ip_hash=keyed_digest(client_ip(request)),
            )
            # The same answer whatever was typed: nothing here depends on an account.
            return redirect("recovery_requested")
    else:
        form = form_class()
    return render(request, template, {"form": form})


@require_http_methods(["GET", "POST"])
def forgot_identifiant(request):
    return _forgot(
        request,
        form_class=ForgotIdentifiantForm,
        purpose=RecoveryRequestPurpose.IDENTIFIANT,
        field="siret",
        template="public/recovery/forgot_identifiant.html",
    )


@require_http_methods(["GET", "POST"])
def forgot_password(request):
    return _forgot(
        request,
        form_class=ForgotPasswordForm,
        purpose=RecoveryRequestPurpose.PASSWORD,
        field="identifiant",
        template="public/recovery/forgot_password.html",
    )


@require_http_methods(["GET"])
def recovery_requested(request):
    return render(
        request,
        "public/recovery/requested.html",
        {"validity_minutes": settings.RECOVERY_LINK_VALIDITY_MINUTES},
    )


def _invalid_link(request):
    return render(request, "public/recovery/link_invalid.html", status=410)


def _landing(request, token: str, purpose: str):
    digest = token_digest(token)
    if recovery_link_find_usable(purpose=purpose, token_hash=digest) is None:
        return _invalid_link(request)
    request.session[SESSION_LINK[purpose]] = digest
    return redirect(CLEAN_URL_NAMES[purpose])


def _set_password(request, purpose: str):
    digest = request.session.get(SESSION_LINK[purpose], "")
    link = recovery_link_find_usable(purpose=purpose, token_hash=digest)
    if link is None:
        request.session.pop(SESSION_LINK[purpose], None)
        return _invalid_link(request)
    if request.method == "POST":
        form = SetPasswordForm(data=request.POST, account=link.account)
        if form.is_valid():
            try:
                recovery_link_use(
                    purpose=purpose,
                    token_hash=digest,
                    new_password=form.cleaned_data["new_password1"],
                )
            except LinkInvalid:
                request.session.pop(SESSION_LINK[purpose], None)
                return _invalid_link(request)
            request.session.pop(SESSION_LINK[purpose], None)
            messages.success(
                request,
                _(
                    "Votre mot de passe est enregistré. Connectez-vous avec votre identifiant "
                    "%(identifiant)s."
                )
                % {"identifiant": link.account.identifiant},
            )
            return redirect("home")
    else:
        form = SetPasswordForm(account=link.account)
    return render(
        request,
        "public/recovery/set_password.html",
        {
            "form": form,
            "link": link,
            "purpose": purpose,
            "activation": purpose == LinkPurpose.ACTIVATION,
        },
    )


@no_referrer
@require_http_methods(["GET"])
def activation_landing(request, token):
    return _landing(request, token, LinkPurpose.ACTIVATION)


@same_origin_referrer
@require_http_methods(["GET", "POST"])
def activation_set_password(request):
    return _set_password(request, LinkPurpose.ACTIVATION)


@no_referrer
@require_http_methods(["GET"])
def reset_landing(request, token):
    return _landing(request, token, LinkPurpose.PASSWORD_RESET)


@same_origin_referrer
@require_http_methods(["GET", "POST"])
def reset_set_password(request):
    return _set_password(request, LinkPurpose.PASSWORD_RESET)


@no_referrer
@require_http_methods(["GET"])
def objection_landing(request, token):
    digest = token_digest(token)
    if reassignment_find_for_objection(token_hash=digest) is None:
        return render(request, "public/objection/invalid.html", status=410)
    request.session[SESSION_OBJECTION] = digest
    return redirect("objection")


@same_origin_referrer
@require_http_methods(["GET", "POST"])
def objection(request):
    digest = request.session.get(SESSION_OBJECTION, "")
    found = reassignment_find_for_objection(token_hash=digest)
    if found is None:
        return render(request, "public/objection/invalid.html", status=410)
    reassignment, _party = found
    if request.method == "POST":
        if public_form_limited(request, "objection"):
            return too_many_requests(request)
        try:
            reassignment_object(token_hash=digest)
        except ReassignmentRefused as exc:
            return render(
                request, "public/objection/invalid.html", {"message": exc.message}, status=409
            )
        request.session.pop(SESSION_OBJECTION, None)
        return render(request, "public/objection/done.html")
    return render(request, "public/objection/confirm.html", {"reassignment": reassignment})
