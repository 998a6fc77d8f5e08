"""Looking at pages in the browser journeys: full-page screenshots for a person to open,
and axe-core (vendored in tests/e2e/vendor/) run on each page. The fixtures that go with
it (``output_dir``, ``checked_context``) are in tests/e2e/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.axe_every_page import AXE, AXE_RUN, AXE_TAGS, BLOCKING, SESSION_REPORT

VIEWPORTS = {
    "desktop-1366": {"width": 1366, "height": 900},
    "mobile-390": {"width": 390, "height": 844},
}


# DSFR's script opens the expanded accordions after the load event, with a transition: a
# screenshot taken during it shows the first row of an accordion cut off, and axe reads
# the hidden legends' contrast against what covers them. The transition starts a frame or
# two after DSFR marks itself started, so one quiet frame is not enough: the page must be
# quiet for QUIET_FRAMES animation frames in a row (about 100 ms).
QUIET_FRAMES = 6
SETTLED = """(frames) => {
    const quiet = document.documentElement.dataset.frJs === "true"
        && document.getAnimations().every((a) => a.playState !== "running");
    window.__lookQuietFrames = quiet ? (window.__lookQuietFrames || 0) + 1 : 0;
    return window.__lookQuietFrames >= frames;
}"""


def settled(page) -> None:
    """Wait until DSFR has started and no CSS transition or animation has run for a few
    frames in a row (at most 3 s: a page without DSFR's script still gets looked at)."""
    page.evaluate("window.__lookQuietFrames = 0")
    try:
        page.wait_for_function(SETTLED, arg=QUIET_FRAMES, polling="raf", timeout=3_000)
    except PlaywrightTimeoutError:
        pass


class Inspector:
    """Screenshots and axe results of the pages of one journey at one viewport."""

    def __init__(self, page, folder: Path, viewport: str):
        self.page, self.folder, self.viewport = page, folder, viewport
        self.folder.mkdir(parents=True, exist_ok=True)
        self.results: dict[str, list[dict]] = {}

    def look(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        settled(page)
        number = len(self.results) + 1
        page.screenshot(path=str(self.folder / f"{number:02d}-{name}.png"), full_page=True)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(AXE_RUN, AXE_TAGS)
        self.results[name] = found
        SESSION_REPORT.note(page.url, found)

    def blocking(self) -> list[str]:
        return [
            f"{self.viewport} {name}: {v['impact']} {v['id']} ({v['help']}) at {v['targets']}"
            for name, violations in self.results.items()
            for v in violations
            if v["impact"] in BLOCKING
        ]

    def save_report(self) -> None:
        report = {
            "viewport": self.viewport,
            "pages": len(self.results),
            "by_impact": {
                impact: sum(1 for vs in self.results.values() for v in vs if v["impact"] == impact)
                for impact in ("critical", "serious", "moderate", "minor")
            },
            "violations": self.results,
        }
        (self.folder / "axe-report.json").write_text(json.dumps(report, indent=2))
