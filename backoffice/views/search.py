"""The search box's results page (tickets/search.py says what each kind of text finds)."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from tickets.search import MAX_QUERY_LENGTH, search_tickets

from ..decorators import backoffice_required
from .nav import nav_context


@require_GET
@backoffice_required
def search(request):
    typed = request.GET.get("q", "")
    page = search_tickets(user=request.user, typed=typed, cursor=request.GET.get("apres"))
    # A reference the agent may see: straight to the ticket (one page load fewer).
    if page.jump_to is not None:
        return redirect("backoffice:ticket_detail", pk=page.jump_to.pk)
    return render(
        request,
        "backoffice/search/results.html",
        {
            **nav_context(request, current="search"),
            "typed": typed,
            "page": page,
            "too_long": len(typed.strip()) > MAX_QUERY_LENGTH,
        },
    )
