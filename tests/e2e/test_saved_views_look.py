"""The queue page of issue 13, as an agent uses it: filter with checkboxes, save the view,
open it again from "Mes vues" in the menu, move through the rows with j/k and open a
ticket with Enter. The table fits 1366 px without horizontal scrolling. Looked at 1366×900
and 390×844 and checked by axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.savedviews.models import SavedView
from tests.e2e.conftest import backoffice_session
from tests.e2e.looking import VIEWPORTS, Inspector
from tests.factories import TicketFactory, UserFactory
from tickets.models import Motif, Priority, Status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Habilitation en cours, urgentes d'abord"


def _fits(page) -> dict:
    return page.evaluate(
        """() => {
            const box = document.querySelector('[data-testid="ticket-table-container"]');
            return {
                page: document.documentElement.scrollWidth <= window.innerWidth,
                pageWidth: document.documentElement.scrollWidth,
                table: box.scrollWidth <= box.clientWidth,
                tableWidths: [box.scrollWidth, box.clientWidth],
            };
        }"""
    )


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_save_a_view_open_it_from_the_menu_and_walk_the_rows(
    viewport, live_server, checked_context, output_dir, agent, habilitation_queue
):
    now = timezone.now()
    colleague = UserFactory(first_name="Bérénice", last_name="Delacroix-Montagne",
                            queues=[habilitation_queue])  # fmt: skip
    tickets = []
    for i in range(8):
        tickets.append(
            TicketFactory(
                status=Status.EN_COURS if i % 2 else Status.NOUVEAU,
                priority=[Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT][i % 4],
                motif=Motif.HABILITATION_EXTRANET if i % 3 else Motif.CERTIFICAT_SIGNATURE,
                requester_name=f"Jean-Christophe Demandeur-Delavallée {i}",
                assignee=colleague if i % 2 else None,
                created_at=now - timedelta(hours=30 * i + 1),
                sla_first_response_due=now - timedelta(hours=2) if i % 4 == 1 else None,
            )
        )
    page = checked_context(viewport)
    backoffice_session(page, live_server.url, agent)
    look = Inspector(page, output_dir / "saved-views" / viewport, viewport)
    queue_url = live_server.url + reverse("backoffice:queue", args=["habilitation"])
    page.goto(queue_url)
    look.look("file")
    fits = _fits(page)
    assert fits["page"], fits
    if viewport == "desktop-1366":
        assert fits["table"], fits

    # Filters as checkboxes: "En cours" and the Habilitation motif, sorted on the priority.
    filters = page.get_by_role("form", name="Filtres")
    filters.get_by_role("group", name="Statut").get_by_label("En cours").check(force=True)
    filters.get_by_role("group", name="Motif").get_by_label("Habilitation à l'extranet").check(
        force=True
    )
    filters.get_by_role("button", name="Filtrer").click()
    page.get_by_role("columnheader", name="Priorité").get_by_role("link").click()
    page.get_by_role("columnheader", name="Priorité").get_by_role("link").click()
    expect(page.get_by_role("columnheader", name="Priorité")).to_have_attribute(
        "aria-sort", "descending"
    )
    # The keyset sort: every field of the key descending (priority, then newest first).
    expected = [
        t.reference
        for t in sorted(tickets, key=lambda t: (t.priority, t.created_at, t.pk), reverse=True)
        if t.status == Status.EN_COURS and t.motif == Motif.HABILITATION_EXTRANET
    ]
    assert len(expected) >= 2

    # Save it.
    page.get_by_role("button", name="Enregistrer ces filtres comme une vue").click()
    page.get_by_label("Nom de la nouvelle vue").fill(NAME)
    page.get_by_role("button", name="Enregistrer la vue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    view = SavedView.objects.get(owner=agent)
    assert view.params["sort"] == ["-priority"]

    # Open it again from the menu, from another page.
    page.goto(live_server.url + reverse("backoffice:my_tickets"))
    menu_button = page.get_by_role("button", name="Mes vues")
    if not menu_button.is_visible():  # a phone: the menu sits behind the header's button
        page.get_by_role("button", name="Menu").click()
    menu_button.click()
    link = page.get_by_role("link", name=NAME)
    expect(link).to_be_visible()
    expect(link).to_contain_text(str(len(expected)))
    look.look("menu-mes-vues")
    # The dropdown opens right under its item.
    menu_box = page.locator("#nav-saved-views-menu .fr-menu__list").bounding_box()
    button_box = menu_button.bounding_box()
    assert 0 <= menu_box["y"] - (button_box["y"] + button_box["height"]) < 16, (
        menu_box,
        button_box,
    )
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    rows = page.locator("table[data-keyboard-list] tbody a.bo-row-link")
    expect(rows).to_have_count(len(expected))
    assert rows.all_inner_texts() == expected
    fits = _fits(page)
    assert fits["page"], fits
    if viewport == "desktop-1366":
        assert fits["table"], fits

    # The keyboard path: j, j, k; typing in a field moves nothing; Enter opens the ticket.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()
    expect(page.locator("tr.bo-row--current")).to_have_count(1)
    look.look("vue-ligne-choisie")
    page.get_by_role("button", name="Gérer cette vue, enregistrer une vue").click()
    name_box = page.get_by_label("Nom de la nouvelle vue")
    expect(name_box).to_be_visible()
    name_box.click()
    expect(name_box).to_be_focused()
    page.keyboard.press("j")
    expect(name_box).to_be_focused()
    expect(name_box).to_have_value("j")
    rows.nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(expected[1])

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
