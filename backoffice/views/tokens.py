"""Personal tokens for the agent API, managed by their owner."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.staff.selectors import personal_tokens_for_user
from accounts.staff.services import personal_token_create, personal_token_revoke

from ..decorators import backoffice_required
from ..forms import PersonalTokenForm
from .nav import nav_context


@require_http_methods(["GET", "POST"])
@backoffice_required
def token_list(request):
    form = PersonalTokenForm(data=request.POST or None)
    raw = None
    if request.method == "POST" and form.is_valid():
        _token, raw = personal_token_create(user=request.user, name=form.cleaned_data["name"])
        form = PersonalTokenForm()
    tokens = personal_tokens_for_user(user=request.user)
    return render(
        request,
        "backoffice/tokens/list.html",
        {
            **nav_context(request, current="tokens"),
            "form": form,
            "raw_token": raw,
            "tokens": tokens,
        },
    )


@require_POST
@backoffice_required
def token_revoke(request, pk):
    if personal_token_revoke(user=request.user, token_id=pk):
        messages.success(request, _("Jeton révoqué."))
    else:
        messages.error(request, _("Ce jeton n'existe pas ou est déjà révoqué."))
    return redirect("backoffice:tokens")
