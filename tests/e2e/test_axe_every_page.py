"""The watch that runs axe on every page the journeys visit can fail: a page with an image
without text and an empty button is reported."""

from __future__ import annotations

import pytest

from tests.e2e.axe_every_page import AxeWatcher, SessionReport

pytestmark = [pytest.mark.e2e]

BAD_PAGE = (
    '<!doctype html><html lang="fr"><head><title>Accueil</title></head>'
    '<body><main><h1>Accueil</h1><img src="/static/x.png"><button></button></main></body></html>'
)


def test_the_watch_reports_a_serious_violation_on_a_page_the_journey_loaded(
    live_server, browser, browser_context_args
):
    report = SessionReport()
    watcher = AxeWatcher(live_server.url, report)
    context = watcher.watch(browser.new_context(**browser_context_args))
    context.route(
        f"{live_server.url}/",
        lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=BAD_PAGE
        ),
    )
    try:
        context.new_page().goto(f"{live_server.url}/")
        watcher.check()
    finally:
        context.close()

    assert report.checked["home"]["path"] == "/"
    found = {v["id"] for v in report.checked["home"]["violations"]}
    assert {"image-alt", "button-name"} <= found
    assert any("image-alt" in line for line in watcher.blocking), watcher.blocking
