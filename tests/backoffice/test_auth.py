"""Back-office authentication: password, then TOTP; enrolment; lockout; logout; expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts.staff.models import StaffEnrolmentLink
from accounts.staff.services import (
    personal_token_create,
    totp_enrolment_confirm,
    totp_enrolment_device,
)
from tests.factories import TOTPDeviceFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Mot-de-passe-de-test-2026"


def code_of(device: TOTPDevice, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():06d}"


def password_step(client, email, password=PASSWORD, next_url="/backoffice/"):
    return client.post(
        "/backoffice/connexion/", {"email": email, "password": password, "next": next_url}
    )


def test_it_logs_in_with_password_then_code(agent):
    device = TOTPDeviceFactory(user=agent)
    client = Client()
    response = password_step(
        client, "AGENT@asp.example", next_url="/backoffice/files/habilitation/"
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/connexion/code/")
    # Password alone: still no page.
    assert client.get("/backoffice/files/habilitation/").status_code == 302
    response = client.post(
        response["Location"],
        {"token": code_of(device), "next": "/backoffice/files/habilitation/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/files/habilitation/"
    page = client.get("/backoffice/files/habilitation/")
    assert page.status_code == 200
    assert "Habilitation" in page.content.decode()


def test_it_refuses_a_wrong_code_and_ends_the_session_after_five(agent):
    TOTPDeviceFactory(user=agent)
    client = Client()
    password_step(client, agent.email)
    for _ in range(4):
        response = client.post("/backoffice/connexion/code/", {"token": "000000"})
        assert response.status_code == 200
        assert "Code incorrect ou expiré." in response.content.decode()
    response = client.post("/backoffice/connexion/code/", {"token": "000000"})
    assert response.status_code == 302 and response["Location"] == "/backoffice/connexion/"
    # Logged out: the code page now sends back to the password.
    assert client.get("/backoffice/connexion/code/")["Location"] == "/backoffice/connexion/"


def test_same_message_for_unknown_address_and_wrong_password(agent):
    first = password_step(Client(), "personne@asp.example").content.decode()
    second = password_step(Client(), agent.email, password="mauvais").content.decode()
    assert "Adresse électronique ou mot de passe incorrect." in first
    assert "Adresse électronique ou mot de passe incorrect." in second


def _enrolment_link(agent) -> str:
    """The link of the enrolment e-mail sent to ``agent`` (its path)."""
    [message] = [m for m in mail.outbox if m.to == [agent.email]]
    return re.search(r"https?://[^/\s]+(/backoffice/connexion/enrolement/\S+/)", message.body)[1]


def test_a_user_without_a_device_enrols_through_a_link_sent_to_their_address(
    agent, django_capture_on_commit_callbacks
):
    client = Client()
    response = password_step(client, agent.email)
    assert response["Location"].startswith("/backoffice/connexion/enrolement/")
    # The password alone shows no QR code: a one-time link goes to the account's address.
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(response["Location"])
    html = page.content.decode()
    assert "data:image/svg+xml" not in html
    assert "Un lien vous a été envoyé" in html
    assert not TOTPDevice.objects.filter(user=agent, confirmed=True).exists()
    link = _enrolment_link(agent)
    # Stored hashed, never in clear.
    stored = StaffEnrolmentLink.objects.get(user=agent)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert stored.token_hash and token not in stored.token_hash

    response = client.get(link)
    assert response["Location"] == "/backoffice/connexion/enrolement/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert "!!MISSING" not in html
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    # Still no back-office page before the device is confirmed.
    assert client.get("/backoffice/mes-tickets/").status_code == 302
    response = client.post("/backoffice/connexion/enrolement/", {"token": code_of(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/backoffice/mes-tickets/").status_code == 200
    # Single use: the link does not open twice.
    assert Client().get(link).status_code == 410


def test_an_enrolment_link_expires_and_a_reload_sends_no_second_e_mail(
    agent, settings, django_capture_on_commit_callbacks
):
    client = Client()
    password_step(client, agent.email)
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/backoffice/connexion/enrolement/")
        client.get("/backoffice/connexion/enrolement/")
    assert len(mail.outbox) == 1
    link = _enrolment_link(agent)
    with freeze_time(
        timezone.now() + timedelta(hours=settings.STAFF_ENROLMENT_LINK_HOURS, minutes=1)
    ):
        assert client.get(link).status_code == 410


def test_a_link_opened_by_someone_else_does_not_enrol_without_the_password(
    agent, django_capture_on_commit_callbacks
):
    client = Client()
    password_step(client, agent.email)
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/backoffice/connexion/enrolement/")
    stranger = Client()
    response = stranger.get(_enrolment_link(agent))
    # The link alone leads to the password step, nothing more.
    assert response["Location"] == "/backoffice/connexion/"
    assert stranger.get("/backoffice/connexion/enrolement/")["Location"].startswith(
        "/backoffice/connexion/"
    )
    assert "data:image" not in stranger.get("/backoffice/connexion/enrolement/").content.decode()


def test_the_service_refuses_a_code_without_an_opened_link(agent):
    device = totp_enrolment_device(user=agent)
    assert (
        totp_enrolment_confirm(
            user=agent, device=device, token=code_of(device), enrolment_link_id=None
        )
        is False
    )
    device.refresh_from_db()
    assert not device.confirmed


def test_an_enrolled_user_cannot_enrol_a_second_device(agent):
    TOTPDeviceFactory(user=agent)
    client = Client()
    password_step(client, agent.email)
    response = client.get("/backoffice/connexion/enrolement/")
    assert response["Location"].startswith("/backoffice/connexion/code/")
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_axes_locks_the_address_from_this_ip_after_five_failures(agent, settings):
    TOTPDeviceFactory(user=agent)
    client = Client(REMOTE_ADDR="192.0.2.10")
    for _ in range(5):
        password_step(client, agent.email, password="mauvais")
    # Even the right password is refused now, with the French lockout page.
    response = password_step(client, agent.email)
    assert response.status_code == 429
    assert "Connexion temporairement bloquée" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another IP is not locked out (lockout by e-mail + IP).
    other = Client(REMOTE_ADDR="192.0.2.99")
    assert password_step(other, agent.email).status_code == 302
    # The lockout ends after the cool-off time (visible here with the in-memory cache,
    # whose clock freezegun moves; Redis keeps its own clock and TTL).
    if "locmem" in settings.CACHES["default"]["BACKEND"].lower():
        with freeze_time(timedelta(minutes=16)):
            assert password_step(client, agent.email).status_code == 302


def test_lockout_is_the_same_for_an_unknown_address(db):
    client = Client(REMOTE_ADDR="192.0.2.11")
    for _ in range(5):
        password_step(client, "inconnu@asp.example", password="x")
    assert password_step(client, "inconnu@asp.example", password="x").status_code == 429


def test_logout_is_post_only(agent, verified_client):
    client = verified_client(agent)
    assert client.get("/backoffice/deconnexion/").status_code == 405
    assert client.get("/backoffice/mes-tickets/").status_code == 200
    response = client.post("/backoffice/deconnexion/")
    assert response["Location"] == "/backoffice/connexion/"
    assert client.get("/backoffice/mes-tickets/").status_code == 302


def test_session_ends_after_thirty_idle_minutes(agent):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        client = Client()
        device = TOTPDeviceFactory(user=agent)
        client.force_login(agent)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        frozen.tick(timedelta(minutes=29))
        assert client.get("/backoffice/mes-tickets/").status_code == 200
        frozen.tick(timedelta(minutes=29))
        assert client.get("/backoffice/mes-tickets/").status_code == 200
        frozen.tick(timedelta(minutes=31))
        response = client.get("/backoffice/mes-tickets/")
        assert response.status_code == 302
        assert response["Location"].startswith("/backoffice/connexion/")
        assert "_auth_user_id" not in client.session


def test_session_ends_ten_hours_after_login_even_when_active(agent):
    with freeze_time("2026-03-02 08:00:00") as frozen:
        client = Client()
        device = TOTPDeviceFactory(user=agent)
        client.force_login(agent)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        for _ in range(29):  # 9 h 40 of activity, a request every 20 minutes
            frozen.tick(timedelta(minutes=20))
            assert client.get("/backoffice/mes-tickets/").status_code == 200
        frozen.tick(timedelta(minutes=21))
        assert client.get("/backoffice/mes-tickets/").status_code == 302


def test_admin_needs_the_second_factor(admin_user, verified_client):
    password_only = Client()
    password_only.force_login(admin_user)
    response = password_only.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert password_only.get("/admin/accounts/user/").status_code == 302
    assert verified_client(admin_user).get("/admin/").status_code == 200


def test_agent_api_needs_the_second_factor(agent, verified_client):
    password_only = Client()
    password_only.force_login(agent)
    assert password_only.get("/api/v1/queues").status_code == 401
    assert verified_client(agent).get("/api/v1/queues").status_code == 200


def test_personal_token_works_only_with_a_confirmed_device(agent):
    _token, raw = personal_token_create(user=agent, name="script")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    assert client.get("/api/v1/queues", headers=headers).status_code == 401
    TOTPDeviceFactory(user=agent)
    assert client.get("/api/v1/queues", headers=headers).status_code == 200
    assert client.get("/api/v1/queues", headers={"Authorization": "Bearer x.y"}).status_code == 401
    agent.is_active = False
    agent.save()
    assert client.get("/api/v1/queues", headers=headers).status_code == 401


def test_session_api_writes_need_csrf(agent, verified_client):
    client = verified_client(agent)
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/queues/habilitation/take-next")
    assert response.status_code == 403
    assert response.json()["detail"] == "Jeton CSRF absent ou invalide."


def with_token(raw):
    return Client().get("/api/v1/queues", headers={"Authorization": f"Bearer {raw}"})


def test_tokens_page_creates_shows_once_and_revokes(agent, verified_client):
    client = verified_client(agent)
    response = client.post("/backoffice/jetons/", {"name": "mon script"})
    html = response.content.decode()
    raw = re.search(r"<code>([0-9a-f]{8}\.[\w-]+)</code>", html).group(1)
    assert with_token(raw).status_code == 200
    assert raw not in client.get("/backoffice/jetons/").content.decode()
    token = agent.personal_tokens.get()
    # Another agent cannot revoke it.
    other = UserFactory()
    verified_client(other).post(f"/backoffice/jetons/{token.pk}/revoquer/")
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post(f"/backoffice/jetons/{token.pk}/revoquer/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert with_token(raw).status_code == 401


def test_seed_demo_gives_fixed_totp_and_demo_totp_prints_the_code(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "demo_totp" in out.getvalue()
    device = TOTPDevice.objects.get(user__email="agent@demo.asp.fr", confirmed=True)
    key = device.key
    call_command("seed_demo", stdout=StringIO())
    device.refresh_from_db()
    assert device.key == key  # fixed secret, stable across runs
    printed = StringIO()
    call_command("demo_totp", "agent@demo.asp.fr", stdout=printed)
    assert printed.getvalue().strip() == code_of(device)
    client = Client()
    password_step(client, "agent@demo.asp.fr", password="Demo-ActivitePartielle-2026")
    response = client.post("/backoffice/connexion/code/", {"token": printed.getvalue().strip()})
    assert response.status_code == 302


def test_demo_totp_is_refused_in_production(agent, settings):
    TOTPDeviceFactory(user=agent)
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_totp", agent.email, stdout=StringIO())


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_code_step_works_outside_a_test_transaction(habilitation_queue):
    """As in production (no test transaction around the request): django-otp locks the
    devices with select_for_update, which PostgreSQL refuses outside a transaction."""
    agent = UserFactory(email="agent.tx@asp.example", queues=[habilitation_queue])
    device = TOTPDeviceFactory(user=agent)
    client = Client()
    response = password_step(client, agent.email)
    response = client.post(response["Location"], {"token": code_of(device), "next": "/backoffice/"})
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"
