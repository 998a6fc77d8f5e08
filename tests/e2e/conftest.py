"""Browser journeys: Playwright driving Debian's Chromium against pytest-django's live
server (127.0.0.1). Run with `make test-e2e`; a failing journey leaves a screenshot in
test-results/."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.axe_every_page import SESSION_REPORT, AxeWatcher
from tests.e2e.looking import VIEWPORTS

# The live server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture
def page(context):
    """pytest-playwright's page, with a short action timeout: a journey step that cannot
    happen fails in seconds, not half a minute."""
    page = context.new_page()
    page.set_default_timeout(8_000)
    yield page


@pytest.fixture
def console_errors(page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def captcha_answer(page) -> str:
    from captcha.models import CaptchaStore

    key = page.input_value("input[name=captcha_0]")
    return CaptchaStore.objects.get(hashkey=key).response


# --- Shared steps ------------------------------------------------------------------------

LINK_RE = re.compile(
    r"https?://\S+?/(compte/(?:activation|reinitialisation)|opposition|suivi)/([^/\s]+)/"
)


def mail_links(message) -> list[tuple[str, str]]:
    """The (path, raw token) of every recovery, objection and follow-up link in an e-mail's
    body (the log check looks for each token)."""
    return [(f"/{kind}/{token}/", token) for kind, token in LINK_RE.findall(message.body)]


def mail_link_path(message) -> str:
    links = mail_links(message)
    assert len(links) == 1, message.body
    return links[0][0]


def mail_identifiant(message) -> str:
    found = re.search(r"Votre identifiant : (\S+)", message.body)
    assert found, message.body
    return found.group(1)


def totp_code(device) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def backoffice_sign_in(page, base_url: str, *, email: str, password: str, device) -> None:
    """The back-office login as an agent does it: e-mail + password, then the TOTP code."""
    page.goto(f"{base_url}/backoffice/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code à 6 chiffres").fill(totp_code(device))
    page.get_by_role("button", name="Valider").click()
    # Signed in: a back-office page, with its menu (on a phone, folded behind "Menu").
    mine = page.locator("#backoffice-nav").get_by_role(
        "link", name="Mes tickets", include_hidden=True
    )
    expect(mine).to_be_attached()


# The class DSFR's modal script gives the header's menu (#header-menu) while it is open.
MENU_OPENED = re.compile(r"\bfr-modal--opened\b")


def backoffice_menu(page):
    """The back-office menu, shown: on a phone (below 992 px) it is folded behind the
    header's "Menu" button (DSFR's header modal), which this opens."""
    menu_button = page.get_by_role("button", name="Menu")
    if menu_button.is_visible():
        menu_button.click()
        expect(page.locator("#header-menu")).to_have_class(MENU_OPENED)
    nav = page.locator("#backoffice-nav")
    expect(nav).to_be_visible()
    return nav


def backoffice_session(page, base_url: str, user) -> None:
    """Open ``page``'s browser context on the back-office as ``user``, second factor
    verified, without typing the login (a session built by ``tests.support.auth.otp_login``).
    Journeys that are about the login itself use ``backoffice_sign_in``."""
    from django.conf import settings
    from django.test import Client

    from tests.support.auth import otp_login

    client = otp_login(Client(), user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            }
        ]
    )


def extranet_sign_in(page, base_url: str, *, identifiant: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


# --- Log hygiene -------------------------------------------------------------------------

PROJECT_LOGGERS = (
    "accounts",
    "backoffice",
    "establishments",
    "tickets",
    "worker",
    "apsupport",
    "django.request",
    "django.security",
    "django.server",
    "celery",
)
# Loggers that do not propagate to the root logger (Django's default configuration):
# caplog's handler is attached to them directly.
NON_PROPAGATING = ("django.server",)


@pytest.fixture(scope="session", autouse=True)
def _live_server_writes_an_access_log():
    """pytest-django's live server answers quietly; make it write runserver's access log
    (``django.server``: one line per request, with the path), so that the log check of
    every journey covers runserver's access lines as well as the Django loggers."""
    from django.core.servers.basehttp import WSGIRequestHandler
    from django.test import testcases

    quiet = testcases.QuietWSGIRequestHandler
    testcases.QuietWSGIRequestHandler = WSGIRequestHandler
    yield
    testcases.QuietWSGIRequestHandler = quiet


def log_leaks(records, secrets) -> list[str]:
    """Every (logger, secret) pair where a secret shows in a record's message or
    exception text."""
    found = []
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        lowered = text.lower()
        found += [f"{record.name}: {secret!r}" for secret in secrets if secret.lower() in lowered]
    return found


@pytest.fixture
def typed_secrets() -> set[str]:
    """Passwords a journey types: add them here; the log check looks for them."""
    return set()


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog, typed_secrets):
    """Runs every journey under caplog (DEBUG for the project's loggers, Django's and
    runserver's access log) and fails it when a raw link token (from the e-mails sent), a
    password typed in the journey, or a requester's e-mail address shows in any log
    record. Real gunicorn and runserver processes: tests/e2e/test_log_hygiene.py."""
    from django.core import mail

    for name in PROJECT_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    for name in NON_PROPAGATING:
        logging.getLogger(name).addHandler(caplog.handler)
    yield
    for name in NON_PROPAGATING:
        logging.getLogger(name).removeHandler(caplog.handler)
    secrets = set(typed_secrets)
    for message in mail.outbox:
        secrets.update(token for _path, token in mail_links(message))
        secrets.update(address.lower() for address in message.to)
    leaks = log_leaks(caplog.records, secrets)
    assert not leaks, "secrets in the logs: " + "; ".join(leaks)


# --- Looking at pages (tests/e2e/looking.py) ----------------------------------------


@pytest.fixture
def output_dir(pytestconfig) -> Path:
    return Path(pytestconfig.getoption("--output"))


@pytest.fixture(scope="session")
def axe_session_report(pytestconfig):
    report = SESSION_REPORT
    yield report
    report.save(Path(pytestconfig.getoption("--output")))


@pytest.fixture
def axe_watch(live_server, axe_session_report):
    """Watches the browser contexts of one journey; before they close, axe checks every
    page they loaded whose view no journey has checked yet (tests/e2e/axe_every_page.py).
    The journey fails on a critical or serious violation."""
    watcher = AxeWatcher(live_server.url, axe_session_report)
    yield watcher
    watcher.check()
    assert not watcher.blocking, "axe, critical or serious:\n" + "\n".join(watcher.blocking)


@pytest.fixture
def new_context(new_context, axe_watch):
    """pytest-playwright's contexts (hence ``context`` and ``page``), watched by axe."""

    def make(**kwargs):
        return axe_watch.watch(new_context(**kwargs))

    yield make
    axe_watch.check()  # before pytest-playwright closes them


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item: ``checked_context`` reads whether the
    test failed to leave screenshots behind."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _screenshots_of_a_failure(request, output_dir: Path, contexts) -> None:
    """pytest-playwright screenshots its own ``page`` on failure, not the pages of the
    contexts made here: every open page of a failed test goes to
    ``<output>/failures/<test>/``."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    folder = output_dir / "failures" / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    for i, context in enumerate(contexts):
        for j, page in enumerate(context.pages):
            try:
                page.screenshot(path=str(folder / f"context{i}-page{j}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a closed page: nothing to keep
                continue


@pytest.fixture
def checked_context(browser, browser_context_args, axe_watch, request, output_dir):
    """``checked_context(viewport)``: a French browser context of that size in which axe
    can be injected (CSP bypassed). A failed test leaves a screenshot of each of its pages
    (``_screenshots_of_a_failure``)."""
    contexts = []

    def make(viewport: str):
        context = browser.new_context(
            **{**browser_context_args, "viewport": VIEWPORTS[viewport], "bypass_csp": True}
        )
        contexts.append(axe_watch.watch(context))
        page = context.new_page()
        page.set_default_timeout(8_000)
        return page

    yield make
    _screenshots_of_a_failure(request, output_dir, contexts)
    axe_watch.check()
    for context in contexts:
        context.close()
