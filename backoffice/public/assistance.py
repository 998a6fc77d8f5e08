"""The public assistance form (S8): "Besoin d'aide ? / Formulaire de demande d'assistance"."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tickets.forms import PublicAssistanceRequestForm
from tickets.models import Source
from tickets.services import assistance_request_submit

SESSION_KEY = "assistance_last_request"


@require_http_methods(["GET", "POST"])
def assistance_request_create(request):
    if request.method == "POST":
        form = PublicAssistanceRequestForm(data=request.POST)
        if form.is_valid():
            assistance_request_submit(data=form.cleaned_data, source=Source.FORM)
            # Post/redirect/get: a reload of the confirmation page sends nothing twice.
            # The page is the same whether the request opened a ticket or joined an open
            # one (the repeat rule), and shows no reference: anyone can type a SIRET, a
            # motif and an address. The reference reaches the requester by e-mail.
            request.session[SESSION_KEY] = {"email": form.cleaned_data["email"]}
            return redirect("assistance_done")
    else:
        # Prefill from the links of "Créer mon espace" (case 2.1): SIRET and motif.
        initial = {key: request.GET[key] for key in ("siret", "motif") if request.GET.get(key)}
        form = PublicAssistanceRequestForm(initial=initial)
    return render(request, "public/assistance/form.html", {"form": form})


@require_http_methods(["GET"])
def assistance_request_done(request):
    last = request.session.get(SESSION_KEY)
    if not last:
        return redirect("assistance_request")
    return render(request, "public/assistance/done.html", {"last": last})
