"""The gate of every back-office page: a logged-in, active user whose second factor is
verified in this session. Nothing else reaches a back-office view."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device


def second_factor_redirect(request):
    """Where a logged-in user without a verified second factor goes: the code page, or
    the enrolment page for a user who has no device yet."""
    target = "backoffice:otp_verify" if user_has_device(request.user) else "backoffice:otp_enrol"
    return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def backoffice_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or not user.is_active:
            login_url = reverse("backoffice:login")
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        if not user.is_verified():
            return second_factor_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper


def require_supervisor(request, why: str) -> None:
    """The supervisors' pages (dashboard, routing, canned replies, approvals): anybody
    else gets a 403 that says ``why``. The services check the role again for their
    writes."""
    if not request.user.is_supervisor:
        raise PermissionDenied(why)
