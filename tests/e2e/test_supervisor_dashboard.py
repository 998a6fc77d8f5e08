"""The supervisor's morning (issue 13, "what needs attention"): with the demo's data, a
supervisor signs in with the TOTP code, lands on the dashboard, sees the headline figures
and the queues nobody works on, and finds the supervisor pages in the one-line menu. Looked
at in 1366×900 and 390×844 (screenshots in test-results/supervisor-dashboard/), checked by
axe-core (critical or serious fails)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from backoffice.dashboard import queues_without_agents
from backoffice.management.commands.seed_demo import DEMO_PASSWORD
from tests.e2e.conftest import backoffice_menu, backoffice_sign_in
from tests.e2e.looking import VIEWPORTS, Inspector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUPERVISOR = "superviseur@demo.asp.fr"
# The dashboard holds in two screens of 900 px (headline, per-queue table, one tab of
# charts), with a little room for the footer.
MAX_HEIGHT = 2 * 900 + 150

NAV_ITEM_TOPS = """() => Array.from(
    document.querySelectorAll('#backoffice-nav .fr-nav__list > .fr-nav__item')
).map(item => item.getBoundingClientRect().top)"""

# Another page of the issue appends one top-level item ("Mes vues", a dropdown with a
# count): the menu must keep room for it.
ADD_ONE_ITEM = """() => {
    const li = document.createElement('li');
    li.className = 'fr-nav__item';
    li.innerHTML = '<button type="button" class="fr-nav__btn" aria-expanded="false">'
        + 'Mes vues <span class="fr-badge fr-badge--sm">12</span></button>';
    document.querySelector('#backoffice-nav .fr-nav__list').appendChild(li);
}"""


@pytest.fixture
def demo(settings, transactional_db):
    settings.SITE_BASE_URL = "http://127.0.0.1:8000"
    call_command("seed_demo", verbosity=0)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_supervisor_lands_on_a_dashboard_that_fits_and_a_menu_on_one_line(
    viewport, demo, live_server, checked_context, output_dir, typed_secrets
):
    from accounts.staff.models import User

    typed_secrets.add(DEMO_PASSWORD)
    supervisor = User.objects.get(email=SUPERVISOR)
    page = checked_context(viewport)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    look = Inspector(page, output_dir / "supervisor-dashboard" / viewport, viewport)

    backoffice_sign_in(
        page,
        live_server.url,
        email=SUPERVISOR,
        password=DEMO_PASSWORD,
        device=TOTPDevice.objects.get(user=supervisor),
    )
    # Landed on the dashboard, headline figures first.
    assert page.url.endswith("/backoffice/tableau-de-bord/"), page.url
    expect(page.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
    tiles = page.get_by_test_id("dashboard-tiles")
    for label in (
        "Tickets ouverts",
        "Plus ancien ticket ouvert",
        "Hors délai",
        "Reçus aujourd'hui",
        "Résolus aujourd'hui",
        "Réattributions à approuver",
    ):
        expect(tiles.get_by_text(label, exact=True)).to_be_visible()
    # The demo leaves queues with open tickets and no agent: the dashboard names them and
    # the navigation counts them.
    without = queues_without_agents()
    assert without, "the demo should leave a queue with open tickets and no agent"
    expect(page.get_by_test_id("queues-without-agents")).to_be_visible()
    for queue in without:
        expect(page.get_by_test_id("queues-without-agents")).to_contain_text(queue.name)
    expect(page.get_by_test_id("nav-queues-without-agents")).to_contain_text(f"{len(without)} file")
    look.look("tableau-de-bord")

    width = VIEWPORTS[viewport]["width"]
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways: {scroll_width} px"
    if viewport == "desktop-1366":
        height = page.evaluate("() => document.body.scrollHeight")
        assert height <= MAX_HEIGHT, f"dashboard {height} px high"
        tops = page.evaluate(NAV_ITEM_TOPS)
        assert len(set(tops)) == 1, f"the menu wraps: item tops {tops}"
        page.evaluate(ADD_ONE_ITEM)
        tops = page.evaluate(NAV_ITEM_TOPS)
        assert len(set(tops)) == 1, f"no room for one more item: item tops {tops}"
        page.reload()

    # The other tabs of the period's figures.
    page.get_by_role("tab", name="Délais").click()
    expect(page.get_by_role("tabpanel", name="Délais")).to_contain_text("Première réponse")
    page.get_by_role("tab", name="Agents").click()
    expect(page.get_by_role("tabpanel", name="Agents")).to_contain_text("Par agent")

    # The supervisor pages are in the "Pilotage" menu (on a phone, behind the header's
    # "Menu" button), beside the reassignments awaiting approval; the routing link leads
    # to the queues' agents.
    nav = backoffice_menu(page)
    expect(page.get_by_test_id("nav-reassignments-awaiting")).to_be_visible()
    nav.get_by_role("button", name="Pilotage").click()
    expect(nav.get_by_role("link", name="Tableau de bord")).to_be_visible()
    expect(nav.get_by_role("link", name="Bandeaux")).to_be_visible()
    # (A full-page screenshot resizes the window, which folds the menu: this one does not.)
    page.wait_for_timeout(400)  # the DSFR collapse animates its height
    page.screenshot(path=str(look.folder / "menu-pilotage-ouvert.png"))
    # The menu opens under its button, over the page.
    menu = nav.locator("#nav-menu-pilotage").bounding_box()
    button = nav.get_by_role("button", name="Pilotage").bounding_box()
    assert abs(menu["y"] - (button["y"] + button["height"])) < 16, (menu, button)
    look.look("menu-pilotage")
    nav.get_by_role("link", name="Routage").click()
    expect(page.get_by_role("heading", name="Agents des files")).to_be_visible()
    assert page.url.endswith("/backoffice/routage/#routing-queues"), page.url

    # The queues are in the "Files" menu, with their counts.
    nav = backoffice_menu(page)
    nav.get_by_role("button", name="Files").click()
    nav.get_by_role("link", name="Habilitation à l'extranet").click()
    expect(page.get_by_role("heading", name="Habilitation à l'extranet")).to_be_visible()

    look.save_report()
    assert look.blocking() == [], "\n".join(look.blocking())
    assert errors == []
