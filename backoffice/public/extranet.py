"""The extranet's public side: home and login (S1), "Mon espace", "Créer mon espace"
(S2–S4) and the CGU. Thin views: forms validate, services write."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.extranet.exceptions import EstablishmentAlreadyKnown
from accounts.extranet.forms import ExtranetLoginForm, SpaceCreateForm, SpaceStartForm
from accounts.extranet.session import (
    extranet_account_from_request,
    extranet_login,
    extranet_login_required,
    extranet_logout,
)
from accounts.extranet.spaces import establishment_is_known, extranet_space_create
from backoffice.public.ratelimit import (
    client_ip,
    keyed_digest,
    login_failure_record,
    login_failures_clear,
    login_security_code_required,
    rate_limit_exceeded,
)
from tickets.models import Motif
from worker.cache import cache_available

SESSION_CREATE_SIRET = "space_create_siret"
SESSION_KNOWN_SIRET = "space_known_siret"
SESSION_CREATED_EMAIL = "space_created_email"


def too_many_requests(request):
    return render(request, "public/too_many_requests.html", status=429)


def public_form_limited(request, scope: str) -> bool:
    return rate_limit_exceeded(
        request,
        scope=scope,
        key=client_ip(request),
        limit=settings.PUBLIC_FORM_POSTS_PER_IP_PER_HOUR,
        window_seconds=3600,
    )


@require_http_methods(["GET", "POST"])
def home(request):
    account = extranet_account_from_request(request)
    if request.method == "POST":
        if rate_limit_exceeded(
            request,
            scope="extranet-login",
            key=client_ip(request),
            limit=settings.EXTRANET_LOGIN_ATTEMPTS_PER_IP_PER_15_MIN,
            window_seconds=900,
        ):
            return too_many_requests(request)
        # Per identifiant, from every address: past a few failures the security code is
        # asked too (never a lockout). Counted on the identifiant as typed, known or not,
        # so the code appearing tells nothing about which identifiants exist.
        identifiant = (request.POST.get("identifiant") or "").strip().upper()[:50]
        form = ExtranetLoginForm(
            data=request.POST, security_code=login_security_code_required(identifiant)
        )
        if form.is_valid():
            login_failures_clear(identifiant)
            extranet_login(request, form.account)
            return redirect("extranet_space")
        if form.credentials_refused:
            login_failure_record(identifiant)
            if login_security_code_required(identifiant):
                form.require_security_code()
    else:
        # Without the cache the per-identifiant count cannot be read: every login asks for
        # the security code (README.md, "When the cache is down").
        form = ExtranetLoginForm(security_code=not cache_available())
    return render(request, "public/home/home.html", {"form": form, "account": account})


@extranet_login_required
@require_http_methods(["GET"])
def extranet_space(request):
    return render(request, "public/espace/space.html", {"account": request.extranet_account})


@require_POST
def extranet_logout_view(request):
    extranet_logout(request)
    return redirect("home")


@require_http_methods(["GET", "POST"])
def space_create_start(request):
    if request.method == "POST":
        if public_form_limited(request, "space-create"):
            return too_many_requests(request)
        form = SpaceStartForm(data=request.POST)
        if form.is_valid():
            siret = form.cleaned_data["siret"]
            if establishment_is_known(siret=siret):
                request.session[SESSION_KNOWN_SIRET] = siret
                return redirect("space_create_known")
            request.session[SESSION_CREATE_SIRET] = siret
            return redirect("space_create_form")
    else:
        form = SpaceStartForm()
    return render(request, "public/espace/create_start.html", {"form": form})


@require_http_methods(["GET"])
def space_create_known(request):
    siret = request.session.get(SESSION_KNOWN_SIRET)
    if not siret:
        return redirect("space_create_start")
    assistance_url = (
        reverse("assistance_request")
        + "?"
        + urlencode({"siret": siret, "motif": Motif.HABILITATION_EXTRANET.value})
    )
    return render(
        request,
        "public/espace/create_known.html",
        {"siret": siret, "assistance_url": assistance_url},
    )


@require_http_methods(["GET", "POST"])
def space_create_form(request):
    siret = request.session.get(SESSION_CREATE_SIRET)
    if not siret:
        return redirect("space_create_start")
    if request.method == "POST":
        if public_form_limited(request, "space-create"):
            return too_many_requests(request)
        form = SpaceCreateForm(data=request.POST)
        if form.is_valid():
            try:
                account = extranet_space_create(
                    siret=siret,
                    establishment=form.establishment_data(),
                    holder=form.holder_data(),
                    secret_question=form.cleaned_data["secret_question"],
                    secret_answer=form.cleaned_data["secret_answer"],
                    requested_ip_hash=keyed_digest(client_ip(request)),
                )
            except EstablishmentAlreadyKnown:
                request.session.pop(SESSION_CREATE_SIRET, None)
                request.session[SESSION_KNOWN_SIRET] = siret
                return redirect("space_create_known")
            request.session.pop(SESSION_CREATE_SIRET, None)
            request.session[SESSION_CREATED_EMAIL] = account.holder_email
            return redirect("space_create_done")
    else:
        form = SpaceCreateForm()
    return render(
        request,
        "public/espace/create_form.html",
        {
            "form": form,
            "siret": siret,
            "validity_minutes": settings.RECOVERY_LINK_VALIDITY_MINUTES,
        },
    )


@require_http_methods(["GET"])
def space_create_done(request):
    email = request.session.get(SESSION_CREATED_EMAIL)
    if not email:
        return redirect("space_create_start")
    return render(
        request,
        "public/espace/create_done.html",
        {"email": email, "validity_minutes": settings.RECOVERY_LINK_VALIDITY_MINUTES},
    )


@require_http_methods(["GET"])
def cgu(request):
    return render(request, "public/espace/cgu.html")
