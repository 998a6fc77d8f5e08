"""Extranet login sessions on the public side.

Extranet accounts are not Django users. Their session is two keys in the Django session:
the account id and the account's ``session_generation`` at login. Every protected request
compares the latter with the account's current value, so bumping the counter (password
changed, holder detached) ends every open session of the account at once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from .models import ExtranetAccount

logger = logging.getLogger(__name__)

SESSION_ACCOUNT_KEY = "extranet_account_id"
SESSION_GENERATION_KEY = "extranet_session_generation"


@functools.cache
def _dummy_hash() -> str:
    # Checked against when no account matches, so that a wrong identifiant costs the same
    # time as a wrong password.
    return make_password("no-such-account-placeholder-password")


def normalize_identifiant(value: str) -> str:
    return (value or "").strip().upper()


def extranet_authenticate(*, identifiant: str, password: str) -> ExtranetAccount | None:
    """The active account whose identifiant and password match, or None; same work and
    same answer whether the identifiant exists or not."""
    account = (
        ExtranetAccount.objects.select_related("establishment")
        .filter(identifiant=normalize_identifiant(identifiant), is_active=True)
        .first()
    )
    if account is None or not account.has_usable_password():
        check_password(password, _dummy_hash())
        return None
    if not account.check_password(password):
        return None
    return account


def extranet_login(request: HttpRequest, account: ExtranetAccount) -> None:
    # A new session key at login: a session id planted before login is worth nothing.
    request.session.cycle_key()
    request.session[SESSION_ACCOUNT_KEY] = account.pk
    request.session[SESSION_GENERATION_KEY] = account.session_generation
    ExtranetAccount.objects.filter(pk=account.pk).update(last_login=timezone.now())


def extranet_logout(request: HttpRequest) -> None:
    request.session.pop(SESSION_ACCOUNT_KEY, None)
    request.session.pop(SESSION_GENERATION_KEY, None)
    request.session.cycle_key()


def extranet_account_from_request(request: HttpRequest) -> ExtranetAccount | None:
    """The account of this session if the session is still valid; a session whose
    generation is stale (password changed, holder detached) is ended here."""
    account_id = request.session.get(SESSION_ACCOUNT_KEY)
    if account_id is None:
        return None
    account = (
        ExtranetAccount.objects.select_related("establishment")
        .filter(pk=account_id, is_active=True)
        .first()
    )
    if account is None or account.session_generation != request.session.get(SESSION_GENERATION_KEY):
        extranet_logout(request)
        return None
    return account


def extranet_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Protects the "Mon espace" pages; checks the session on every request."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = extranet_account_from_request(request)
        if account is None:
            return redirect("home")
        request.extranet_account = account  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
