"""The back-office menu in DSFR's header pattern: on a phone (390×844) the whole menu (the
queues with their counts, the reassignments, the notices or the supervisors' pages, the
saved views, and the header's own links) folds behind the header's "Menu" button, which
opens and closes it with the mouse and with the keyboard; on a desktop (1366×900) it shows
under the header without a click. Looked at in both sizes (screenshots in
test-results/backoffice-menu/) and checked by axe-core."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import MENU_OPENED, backoffice_session
from tests.e2e.looking import Inspector, settled
from tests.factories import TicketFactory
from tickets.models import Status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


@pytest.fixture
def tickets(agent, habilitation_queue):
    """Two tickets of the agent's queue, one of them the agent's own: the agent's counts
    in the menu are all above zero."""
    TicketFactory(queue=habilitation_queue, status=Status.NOUVEAU)
    TicketFactory(queue=habilitation_queue, status=Status.EN_COURS, assignee=agent)


def menu_items(page, *, supervisor: bool) -> list:
    """The top-level items of the back-office menu, as a person finds them."""
    nav = page.locator("#backoffice-nav")
    items = [
        nav.get_by_role("link", name="Mes tickets"),
        nav.get_by_role("link", name="Non assignés"),
        nav.get_by_role("link", name="Réattributions"),
        nav.get_by_role("button", name="Mes vues"),
    ]
    if supervisor:
        items += [
            nav.get_by_role("button", name="Files"),
            nav.get_by_role("button", name="Pilotage"),
        ]
    else:
        items += [
            nav.get_by_role("link", name="Habilitation à l'extranet"),
            nav.get_by_role("link", name="Bandeaux"),
        ]
    return items


def open_menu(page):
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#header-menu")).to_have_class(MENU_OPENED)
    settled(page)


@pytest.mark.parametrize("persona", ["agent", "supervisor"])
def test_on_a_phone_the_menu_folds_behind_the_menu_button(
    persona, request, live_server, checked_context, output_dir, tickets, habilitation_queue
):
    user = request.getfixturevalue(persona)
    supervisor = persona == "supervisor"
    page = checked_context("mobile-390")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    backoffice_session(page, live_server.url, user)
    look = Inspector(page, output_dir / "backoffice-menu" / f"mobile-390-{persona}", "mobile-390")
    page.goto(live_server.url + reverse("backoffice:queue", args=[habilitation_queue.slug]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Habilitation à l'extranet")
    look.look("menu-ferme")

    # Closed: only the header's buttons show; the content comes right under the header.
    menu_button = page.get_by_role("button", name="Menu")
    expect(menu_button).to_be_visible()
    expect(menu_button).to_have_attribute("aria-controls", "header-menu")
    expect(page.get_by_role("button", name="Rechercher un ticket")).to_be_visible()
    items = menu_items(page, supervisor=supervisor)
    for item in items:
        expect(item).to_be_hidden()
    assert not page.evaluate(SCROLLS_SIDEWAYS)

    # The mouse opens it: every item, with its count, and the header's own links.
    open_menu(page)
    expect(menu_button).to_have_attribute("data-fr-opened", "true")
    for item in items:
        expect(item).to_be_visible()
    nav = page.locator("#backoffice-nav")
    expect(nav.get_by_role("link", name="Mes tickets")).to_contain_text("0" if supervisor else "1")
    expect(nav.get_by_role("link", name="Non assignés")).to_contain_text("1")
    menu = page.locator("#header-menu")
    expect(menu.get_by_role("link", name="Jetons d'API")).to_be_visible()
    expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    if supervisor:
        # The dropdowns unfold inside the open menu: the queues with their counts, and
        # the supervisors' pages.
        nav.get_by_role("button", name="Files").click()
        queue_link = nav.get_by_role("link", name="Habilitation à l'extranet")
        expect(queue_link).to_be_visible()
        expect(queue_link).to_contain_text("2")
        nav.get_by_role("button", name="Pilotage").click()
        expect(nav.get_by_role("link", name="Tableau de bord")).to_be_visible()
        expect(nav.get_by_role("link", name="Bandeaux")).to_be_visible()
    else:
        expect(nav.get_by_role("link", name="Habilitation à l'extranet")).to_contain_text("2")
    # "Mes vues" loads its list when opened.
    nav.get_by_role("button", name="Mes vues").click()
    expect(nav.get_by_role("link", name="Toutes mes vues")).to_be_visible()
    # (A full-page screenshot resizes the window to the page's height; a viewport one
    # shows the open menu as a person sees it.)
    settled(page)
    page.screenshot(path=str(look.folder / "menu-ouvert-ecran.png"))
    look.look("menu-ouvert")

    # ... and closes it ("Fermer").
    menu.get_by_role("button", name="Fermer").click()
    expect(menu).not_to_have_class(MENU_OPENED)
    for item in items:
        expect(item).to_be_hidden()
    expect(menu_button).to_be_visible()

    # The keyboard: Enter opens, Escape closes and gives the focus back to the button.
    menu_button.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_class(MENU_OPENED)
    for item in items:
        expect(item).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_class(MENU_OPENED)
    for item in items:
        expect(item).to_be_hidden()
    expect(menu_button).to_be_focused()

    # Space opens it too; Tab walks into the menu (the focus stays inside while it is
    # open) and Enter follows a link.
    page.keyboard.press("Space")
    expect(menu).to_have_class(MENU_OPENED)
    target = nav.get_by_role("link", name="Réattributions")
    for _ in range(30):
        page.keyboard.press("Tab")
        assert menu.evaluate("(menu) => menu.contains(document.activeElement)")
        if target.evaluate("(link) => link === document.activeElement"):
            break
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Réattributions")
    for item in menu_items(page, supervisor=supervisor):
        expect(item).to_be_hidden()
    look.look("apres-lien-du-menu")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
    assert errors == []


@pytest.mark.parametrize("persona", ["agent", "supervisor"])
def test_on_a_desktop_the_menu_shows_without_a_click(
    persona, request, live_server, checked_context, output_dir, tickets, habilitation_queue
):
    user = request.getfixturevalue(persona)
    page = checked_context("desktop-1366")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    backoffice_session(page, live_server.url, user)
    look = Inspector(
        page, output_dir / "backoffice-menu" / f"desktop-1366-{persona}", "desktop-1366"
    )
    page.goto(live_server.url + reverse("backoffice:queue", args=[habilitation_queue.slug]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Habilitation à l'extranet")
    look.look("menu")

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    items = menu_items(page, supervisor=persona == "supervisor")
    for item in items:
        expect(item).to_be_visible()
    # One line, under the header, above the page's content.
    tops = {round(item.bounding_box()["y"]) for item in items}
    assert len(tops) == 1, tops
    header = page.locator("header.fr-header .fr-header__body").bounding_box()
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert header["y"] + header["height"] <= min(tops) < heading["y"]
    expect(page.get_by_role("searchbox", name="Rechercher un ticket")).to_be_visible()
    assert not page.evaluate(SCROLLS_SIDEWAYS)

    # The dropdowns open under their own item, over the page.
    nav = page.locator("#backoffice-nav")
    views = nav.get_by_role("button", name="Mes vues")
    views.click()
    expect(nav.get_by_role("link", name="Toutes mes vues")).to_be_visible()
    settled(page)  # the dropdown unfolds with a transition
    listing = nav.locator("#nav-saved-views-menu .fr-menu__list").bounding_box()
    button = views.bounding_box()
    assert 0 <= listing["y"] - (button["y"] + button["height"]) < 16, (listing, button)
    look.look("menu-mes-vues")

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
    assert errors == []
