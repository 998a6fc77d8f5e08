"""S1: the home page, login by identifiant, "Mon espace", and the extranet session."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from accounts.extranet.session import SESSION_ACCOUNT_KEY
from backoffice.public.ratelimit import _login_failures_key, login_security_code_required
from tests.accounts.helpers import assert_no_missing_variable
from tests.factories import EXTRANET_TEST_PASSWORD, ExtranetAccountFactory

pytestmark = pytest.mark.django_db


def login(client, identifiant, password=EXTRANET_TEST_PASSWORD):
    return client.post("/", {"identifiant": identifiant, "password": password})


def test_the_home_page_has_the_s1_elements(client):
    response = client.get("/")
    for text in (
        "MA PREMIÈRE CONNEXION",
        "CRÉER MON ESPACE",
        "MON ESPACE PERSONNEL",
        "Identifiant",
        "Mot de passe",
        "Ne pas saisir d'adresse de messagerie",
        "J'ai oublié mon identifiant",
        "J'ai oublié mon mot de passe",
        "Besoin d'aide ?",
    ):
        assertContains(response, text)
    assertContains(response, 'href="/assistance/"')
    assertContains(response, 'href="/creer-mon-espace/"')
    assert_no_missing_variable(response)
    assertNotContains(response, "onclick=")


def test_an_email_typed_as_identifiant_is_refused_without_any_lookup(client):
    ExtranetAccountFactory(with_password=True, holder_email="claire@exemple.fr")
    with CaptureQueriesContext(connection) as queries:
        response = login(client, "claire@exemple.fr")
    assertContains(response, "Ne pas saisir d&#x27;adresse de messagerie : saisissez votre")
    assert not [q for q in queries.captured_queries if "extranetaccount" in q["sql"].lower()]
    assert SESSION_ACCOUNT_KEY not in client.session


def test_wrong_password_and_unknown_identifiant_get_the_same_answer(client):
    account = ExtranetAccountFactory(with_password=True)
    wrong_password = login(client, account.identifiant, "pas-le-bon-mot-de-passe")
    unknown = login(client, "APINCONNU99", "pas-le-bon-mot-de-passe")
    for response in (wrong_password, unknown):
        assert response.status_code == 200
        assertContains(response, "Identifiant ou mot de passe incorrect.")
    assert SESSION_ACCOUNT_KEY not in client.session


def test_the_holder_logs_in_sees_mon_espace_and_logs_out(client):
    account = ExtranetAccountFactory(with_password=True)
    response = login(client, account.identifiant.lower())  # case does not matter
    assert response.status_code == 302 and response["Location"] == "/espace/"
    page = client.get("/espace/")
    assertContains(page, account.establishment.denomination)
    assertContains(page, account.establishment.siret)
    assertContains(page, account.holder_name)
    assertContains(page, "Se déconnecter")
    assert_no_missing_variable(page)
    client.post("/espace/deconnexion/")
    assert client.get("/espace/")["Location"] == "/"


def test_an_account_without_usable_password_cannot_log_in(client):
    account = ExtranetAccountFactory()  # never activated
    assertContains(login(client, account.identifiant, ""), "Veuillez saisir votre mot de passe")
    assertContains(
        login(client, account.identifiant, "n-importe-quoi"),
        "Identifiant ou mot de passe incorrect.",
    )


def test_bumping_the_session_generation_ends_open_sessions(client):
    account = ExtranetAccountFactory(with_password=True)
    login(client, account.identifiant)
    assert client.get("/espace/").status_code == 200
    type(account).objects.filter(pk=account.pk).update(session_generation=99)
    response = client.get("/espace/")
    assert response.status_code == 302
    assert SESSION_ACCOUNT_KEY not in client.session


def test_a_back_office_user_session_is_not_an_extranet_session(client, agent):
    client.force_login(agent)
    assert client.get("/espace/").status_code == 302


def test_login_attempts_are_limited_per_ip(client, settings):
    settings.EXTRANET_LOGIN_ATTEMPTS_PER_IP_PER_15_MIN = 3
    account = ExtranetAccountFactory(with_password=True)
    for _ in range(3):
        assert login(client, account.identifiant, "mauvais").status_code == 200
    assert login(client, account.identifiant).status_code == 429
    # Another address is not affected, nor is the account locked.
    response = client.post(
        "/",
        {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302


def test_a_forged_host_header_is_refused(client):
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400


# --- Failures on one identifiant, from every address ------------------------------------


def _captcha_answer(response) -> dict:
    from captcha.models import CaptchaStore

    key = re.search(r'name="captcha_0"[^>]*value="([^"]+)"', response.content.decode())
    assert key, "no security code on the page"
    store = CaptchaStore.objects.get(hashkey=key.group(1))
    return {"captcha_0": store.hashkey, "captcha_1": store.response}


def test_failures_on_one_identifiant_from_many_addresses_bring_the_security_code(client, settings):
    """Five wrong passwords, each from another address (the per-IP limit never sees
    more than one): the sixth attempt, from yet another address, needs the security
    code, and a password without it is not even tried."""
    settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = 5
    account = ExtranetAccountFactory(with_password=True)
    for n in range(5):
        response = client.post(
            "/",
            {"identifiant": account.identifiant, "password": f"mauvais-{n}"},
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        )
        assertContains(response, "Identifiant ou mot de passe incorrect.")
    # The fifth failure's answer already shows the code to copy.
    assertContains(response, 'name="captcha_1"')
    with mock.patch("accounts.extranet.forms.extranet_authenticate") as authenticate:
        refused = client.post(
            "/",
            {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD},
            REMOTE_ADDR="203.0.113.77",
        )
    authenticate.assert_not_called()  # no code, no password check
    assert refused.status_code == 200
    assert SESSION_ACCOUNT_KEY not in client.session
    assertContains(refused, 'name="captcha_1"')
    # Another identifiant is not concerned.
    other = ExtranetAccountFactory(with_password=True)
    assert login(client, other.identifiant).status_code == 302
    client.post("/espace/deconnexion/")


def test_the_holder_is_never_locked_out_the_code_and_the_password_let_them_in(client, settings):
    settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = 3
    account = ExtranetAccountFactory(with_password=True)
    for n in range(10):
        response = client.post(
            "/",
            {"identifiant": account.identifiant, "password": "mauvais"},
            REMOTE_ADDR=f"10.1.0.{n}",
        )
    answer = _captcha_answer(response)
    response = client.post(
        "/",
        {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD, **answer},
        REMOTE_ADDR="192.0.2.10",
    )
    assert response.status_code == 302
    assert client.session[SESSION_ACCOUNT_KEY] == account.pk
    # The count starts again after a login.
    client.post("/espace/deconnexion/")
    assertNotContains(client.get("/"), 'name="captcha_1"')
    assert login(client, account.identifiant).status_code == 302


def test_an_unknown_identifiant_gets_the_code_after_as_many_failures_as_a_known_one(
    client, settings
):
    """The code appearing must not tell which identifiants exist."""
    settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = 2
    account = ExtranetAccountFactory(with_password=True)
    shown = {}
    for identifiant in (account.identifiant, "APINCONNU42"):
        answers = [
            client.post("/", {"identifiant": identifiant, "password": "mauvais"}) for _ in range(2)
        ]
        shown[identifiant] = ['name="captcha_1"' in r.content.decode() for r in answers]
    assert shown[account.identifiant] == shown["APINCONNU42"] == [False, True]


def test_the_count_ends_with_its_window(client, settings):
    settings.EXTRANET_LOGIN_FAILURES_BEFORE_SECURITY_CODE = 2
    settings.EXTRANET_LOGIN_FAILURE_WINDOW_MINUTES = 60
    account = ExtranetAccountFactory(with_password=True)
    for _ in range(2):
        login(client, account.identifiant, "mauvais")
    assert login_security_code_required(account.identifiant)
    cache.delete(_login_failures_key(account.identifiant))  # what the expiry does
    assert not login_security_code_required(account.identifiant)
