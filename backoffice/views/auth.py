"""Back-office login: e-mail + password (django-axes counts the failures), then a TOTP
code (django-otp), with enrolment by QR code for a user without a device; logout."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import devices_for_user, user_has_device

from accounts.staff.services import (
    staff_enrolment_granted,
    staff_enrolment_link_send,
    staff_enrolment_link_use,
    totp_enrolment_confirm,
    totp_enrolment_device,
)
from worker.cache import CacheUnavailable, cache_available

from ..forms import LoginForm, OTPTokenForm
from ..middleware import second_factor_login

OTP_FAILURES_KEY = "backoffice_otp_failures"
# The enrolment link this session opened (its id, never its token).
ENROLMENT_GRANT_KEY = "backoffice_enrolment_link"
OTP_MAX_FAILURES = 5
LOGIN_ERROR = "Adresse électronique ou mot de passe incorrect."
LOGIN_UNAVAILABLE = (
    "La connexion est momentanément indisponible. Réessayez dans quelques minutes ; "
    "les agents déjà connectés peuvent continuer à travailler."
)


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("backoffice:home")


def _with_next(name: str, next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse(name)}?{urlencode({'next': next_url})}"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _next_url(request)
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(next_url)
    form = LoginForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        # django-axes counts failures in the cache: without it, no password is checked
        # (fail closed; README.md, "When the cache is down"). Agents already logged in
        # keep working: sessions are in the database.
        if not cache_available():
            return _login_unavailable(request, form, next_url)
        try:
            user = authenticate(
                request,
                email=form.cleaned_data["email"].strip().lower(),
                password=form.cleaned_data["password"],
            )
        except CacheUnavailable:
            return _login_unavailable(request, form, next_url)
        if user is not None:
            auth_login(request, user)
            target = "backoffice:otp_verify" if user_has_device(user) else "backoffice:otp_enrol"
            return redirect(_with_next(target, next_url))
        # Same message whether the address exists or not.
        form.add_error(None, LOGIN_ERROR)
    return render(request, "backoffice/auth/login.html", {"form": form, "next": next_url})


def _login_unavailable(request, form, next_url):
    form.add_error(None, LOGIN_UNAVAILABLE)
    return render(
        request, "backoffice/auth/login.html", {"form": form, "next": next_url}, status=503
    )


def _count_otp_failure(request) -> bool:
    """Count a wrong code; past the limit the session ends, so the next attempt starts
    again from the password (which django-axes counts). Returns True when it ended."""
    failures = request.session.get(OTP_FAILURES_KEY, 0) + 1
    if failures >= OTP_MAX_FAILURES:
        logout(request)
        messages.error(request, _("Trop de codes erronés : reconnectez-vous."))
        return True
    request.session[OTP_FAILURES_KEY] = failures
    return False


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if not request.user.is_authenticated:
        return redirect("backoffice:login")
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    if not user_has_device(request.user):
        return redirect(_with_next("backoffice:otp_enrol", next_url))
    form = OTPTokenForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        # for_verify locks the devices (select_for_update) so that one code cannot be
        # used twice at once: it needs a transaction (PostgreSQL refuses it outside one).
        with transaction.atomic():
            for device in devices_for_user(request.user, confirmed=True, for_verify=True):
                if device.verify_token(token):
                    second_factor_login(request, device)
                    request.session.pop(OTP_FAILURES_KEY, None)
                    return redirect(next_url)
        if _count_otp_failure(request):
            return redirect("backoffice:login")
        form.add_error("token", "Code incorrect ou expiré.")
    return render(request, "backoffice/auth/otp_verify.html", {"form": form, "next": next_url})


def _qr_data_uri(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _masked(address: str) -> str:
    local, _at, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_enrol(request):
    """Enrol the second factor. After the password, a user without a device is e-mailed a
    one-time link (to the account's own address); the QR code shows only in a session that
    opened that link. A password alone never adds a device."""
    if not request.user.is_authenticated:
        return redirect("backoffice:login")
    next_url = _next_url(request)
    device = totp_enrolment_device(user=request.user)
    if device is None:
        # Already enrolled: a new device only through an administrator.
        return redirect(_with_next("backoffice:otp_verify", next_url))
    grant = request.session.get(ENROLMENT_GRANT_KEY)
    if not staff_enrolment_granted(user=request.user, link_id=grant):
        staff_enrolment_link_send(user=request.user)
        return render(
            request,
            "backoffice/auth/otp_enrol_link_sent.html",
            {"masked_email": _masked(request.user.email)},
        )
    form = OTPTokenForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if totp_enrolment_confirm(
            user=request.user, device=device, token=token, enrolment_link_id=grant
        ):
            request.session.pop(ENROLMENT_GRANT_KEY, None)
            second_factor_login(request, device)
            messages.success(request, _("Votre application d'authentification est enregistrée."))
            return redirect(next_url)
        if _count_otp_failure(request):
            return redirect("backoffice:login")
        form.add_error("token", "Code incorrect ou expiré.")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "backoffice/auth/otp_enrol.html",
        {
            "form": form,
            "next": next_url,
            "qr_data_uri": _qr_data_uri(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
    )


@never_cache
@require_http_methods(["GET"])
def otp_enrol_link(request, token: str):
    """The link of the enrolment e-mail: spent at once (single use), remembered by this
    session, then off to the password step (or straight to the QR code when this session
    already passed it as the link's user). The token leaves the address bar at once."""
    link = staff_enrolment_link_use(raw_token=token)
    if link is None:
        return render(request, "backoffice/auth/otp_enrol_link_invalid.html", status=410)
    request.session[ENROLMENT_GRANT_KEY] = link.pk
    if request.user.is_authenticated and request.user.pk == link.user_id:
        return redirect("backoffice:otp_enrol")
    if request.user.is_authenticated:
        logout(request)  # another account's session: start again from the password
        request.session[ENROLMENT_GRANT_KEY] = link.pk
    # After the password, the login page sends a user without a device to the enrolment.
    return redirect("backoffice:login")


@require_POST
@csrf_protect
def logout_view(request):
    logout(request)
    messages.info(request, _("Vous êtes déconnecté."))
    return redirect("backoffice:login")


def lockout(request, response=None, credentials=None, *args, **kwargs):
    """django-axes: the answer to a login attempt while (e-mail, IP) is locked out. The
    same for an existing and an unknown address."""
    return render(request, "backoffice/auth/lockout.html", status=429)
