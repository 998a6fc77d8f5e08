"""axe-core on every page the browser journeys visit, not only where a journey stops to
look (``looking.Inspector``).

Every browser context a journey opens is watched: each HTML document its pages load
(a navigation answered 200 with ``text/html``) is noted. When the journey ends, before its
contexts close, each noted page whose view has not been checked yet in this session is
opened again in the same context (same cookies, same rights), given time for its htmx
panels, and checked by axe; a critical or serious violation fails the journey. A view is
checked once per session (the first journey to reach it); a page that a journey reached
but that can no longer be shown the same way (the session ended, a one-time link was used)
is not counted as checked: a later journey may check it, and the report lists what was
never checked.

axe is evaluated through the DevTools protocol, which the pages' CSP does not govern, so
the journeys keep running under the real CSP (their console check still sees violations).
The session's report is ``<output>/axe-every-page.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"critical", "serious"}
# Runs axe on the page (axe already evaluated there); its violations, short.
AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
    }));
}"""

_AXE_SOURCE: str | None = None


def _axe_source() -> str:
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE.read_text()
    return _AXE_SOURCE


def view_name(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


@dataclass
class SessionReport:
    """What axe checked in this test session, by view name."""

    checked: dict[str, dict] = field(default_factory=dict)
    reached_unchecked: dict[str, str] = field(default_factory=dict)

    def note(self, url: str, violations: list[dict]) -> None:
        """A page axe checked elsewhere (``looking.Inspector.look``)."""
        name = view_name(url)
        if name is not None and name not in self.checked:
            self.checked[name] = {"path": urlsplit(url).path, "violations": violations}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        never = {n: u for n, u in self.reached_unchecked.items() if n not in self.checked}
        (folder / "axe-every-page.json").write_text(
            json.dumps(
                {
                    "views_checked": len(self.checked),
                    "checked": self.checked,
                    "reached_but_never_checked": never,
                },
                indent=2,
                ensure_ascii=False,
            )
        )


# One report for the test session: the journeys' fixtures and the Inspector's looks add to it.
SESSION_REPORT = SessionReport()


class ContextWatch:
    """The HTML pages one browser context loaded, in order."""

    def __init__(self, context, origin: str):
        self.context, self.origin = context, origin
        self.urls: list[str] = []
        self.closed = False
        context.on("page", self._watch_page)
        context.on("close", lambda _ctx: setattr(self, "closed", True))
        for page in context.pages:
            self._watch_page(page)

    def _watch_page(self, page) -> None:
        def on_response(response):
            request = response.request
            if not request.is_navigation_request() or request.frame != page.main_frame:
                return
            if response.status != 200 or not response.url.startswith(self.origin):
                return
            if "text/html" not in (response.headers.get("content-type") or ""):
                return
            if response.url not in self.urls:
                self.urls.append(response.url)

        page.on("response", on_response)

    def check(self, report: SessionReport) -> list[str]:
        """Opens each page of a view not checked yet and runs axe; the blocking findings."""
        if self.closed:
            return []
        self.closed = True  # checked once, when the journey ends
        blocking: list[str] = []
        for url in list(self.urls):
            name = view_name(url)
            if name is None or name in report.checked:
                continue
            page = self.context.new_page()
            try:
                response = page.goto(url)
                if (
                    response is None
                    or response.status != 200
                    or view_name(page.url) != name
                    or "text/html" not in (response.headers.get("content-type") or "")
                ):
                    report.reached_unchecked.setdefault(name, urlsplit(url).path)
                    continue
                try:
                    page.wait_for_load_state("networkidle", timeout=3_000)
                except Exception:  # noqa: BLE001 - a page that keeps polling is checked as is
                    pass
                page.evaluate(_axe_source())
                violations = page.evaluate(AXE_RUN, AXE_TAGS)
            finally:
                page.close()
            report.checked[name] = {"path": urlsplit(url).path, "violations": violations}
            blocking += [
                f"{name} ({urlsplit(url).path}): {v['impact']} {v['id']} ({v['help']}) "
                f"at {v['targets']}"
                for v in violations
                if v["impact"] in BLOCKING
            ]
        return blocking


class AxeWatcher:
    """The contexts of one journey."""

    def __init__(self, origin: str, report: SessionReport):
        self.origin, self.report = origin, report
        self.watches: list[ContextWatch] = []
        self.blocking: list[str] = []

    def watch(self, context):
        self.watches.append(ContextWatch(context, self.origin))
        return context

    def check(self) -> None:
        for watch in self.watches:
            self.blocking += watch.check(self.report)
