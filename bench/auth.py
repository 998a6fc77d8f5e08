"""How the load test signs in: through the real login path, over HTTP.

The back-office session of an agent is opened exactly as an agent opens it: the login page
(its CSRF cookie and token), the e-mail and password, then the six-digit code of the TOTP
device, computed here from the device's key as the agent's phone would. Whatever the login
view and its middleware put in the session (the login time, the verified device, the idle
stamp), the load test has, so it cannot measure a redirect to the login page again.
"""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class LoginFailed(SystemExit):
    pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opener(jar: http.cookiejar.CookieJar, *, follow: bool) -> urllib.request.OpenerDirector:
    handlers: list = [urllib.request.HTTPCookieProcessor(jar)]
    if not follow:
        handlers.append(NoRedirect())
    return urllib.request.build_opener(*handlers)


def _request(opener, url: str, data: dict | None = None) -> tuple[int, str, str]:
    """(status, final URL or Location, body) without raising on 3xx/4xx."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    headers = {"Referer": url} if data is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.url, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), exc.read().decode("utf-8", "replace")


def _csrf(opener, url: str) -> str:
    status, _, body = _request(opener, url)
    match = CSRF_INPUT.search(body)
    if status != 200 or match is None:
        raise LoginFailed(f"{url}: {status}, no CSRF token in the form")
    return match.group(1)


def _totp_now(device) -> str:
    # Local: imported after django.setup() (bench/ runs as a script).
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def enrolled_device(user):
    """The agent's confirmed TOTP device (created once, as enrolment would have)."""
    # Local: imported after django.setup() (bench/ runs as a script).
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    return device


def login_cookie(base: str, *, email: str, password: str, device) -> str:
    """Log in at ``base`` (password, then the TOTP code) and return the ``Cookie`` header
    of the opened session. Fails loudly when any step does not answer as for an agent."""
    jar = http.cookiejar.CookieJar()
    opener = _opener(jar, follow=False)
    login_url = f"{base}/backoffice/connexion/"
    status, location, _ = _request(
        opener,
        login_url,
        {"csrfmiddlewaretoken": _csrf(opener, login_url), "email": email, "password": password},
    )
    if status != 302 or "/connexion/code/" not in location:
        raise LoginFailed(f"login as {email}: {status} → {location!r}, expected the code step")
    code_url = urllib.parse.urljoin(login_url, location)
    # A code is accepted once per 30-second step (django-otp refuses a replay): wait for
    # the next step if this device was used in the current one.
    device.refresh_from_db()
    while device.last_t >= int(time.time() - device.t0) // device.step:
        time.sleep(1)
    status, location, body = _request(
        opener,
        code_url,
        {"csrfmiddlewaretoken": _csrf(opener, code_url), "token": _totp_now(device)},
    )
    if status != 302 or "/connexion" in location:
        raise LoginFailed(f"TOTP code for {email}: {status} → {location!r}")
    status, final, _ = _request(_opener(jar, follow=True), urllib.parse.urljoin(code_url, location))
    if status != 200 or "/connexion" in final:
        raise LoginFailed(f"first page after login as {email}: {status} at {final}")
    return "; ".join(f"{c.name}={c.value}" for c in jar)
