"""Recovery links (DESIGN.md section 7) and "J'ai oublié…" (S6): one test per rule."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.core import mail, serializers
from django.template.loader import render_to_string
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from accounts.extranet import selectors
from accounts.extranet.exceptions import LinkInvalid
from accounts.extranet.links import (
    RECOVERY_REQUEST_JOB,
    recovery_link_create,
    recovery_link_find_usable,
    recovery_link_use,
    recovery_links_expire_sweep,
    token_digest,
)
from accounts.extranet.models import (
    ExtranetAccount,
    LinkPurpose,
    LinkState,
    RecoveryLink,
)
from accounts.extranet.session import SESSION_ACCOUNT_KEY
from tests.accounts.helpers import assert_no_missing_variable, last_link, with_captcha
from tests.factories import EXTRANET_TEST_PASSWORD, ExtranetAccountFactory, TicketFactory
from tickets.models import EventKind
from worker import services as outbox
from worker.models import EmailStatus, OutboundEmail, OutboxJob

pytestmark = pytest.mark.django_db

FORGOT_PASSWORD = "/compte/mot-de-passe-oublie/"
FORGOT_IDENTIFIANT = "/compte/identifiant-oublie/"
NEW_PASSWORD = "Nouveau-Mot-de-passe-tres-sur-2026"


@pytest.fixture
def holder():
    return ExtranetAccountFactory(with_password=True, holder_email="titulaire@exemple.fr")


def ask_reset(client, identifiant, oncommit, **extra):
    data = with_captcha(client, FORGOT_PASSWORD, {"identifiant": identifiant})
    with oncommit(execute=True):
        return client.post(FORGOT_PASSWORD, data, **extra)


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def reset_password_through(client, url, password=NEW_PASSWORD, oncommit=None):
    landing = client.get(url)
    assert landing.status_code == 302
    assert landing["Location"] == "/compte/reinitialisation/"
    if oncommit is None:
        return client.post(
            "/compte/reinitialisation/", {"new_password1": password, "new_password2": password}
        )
    with oncommit(execute=True):
        return client.post(
            "/compte/reinitialisation/", {"new_password1": password, "new_password2": password}
        )


# --- The whole S6 journey ---------------------------------------------------------------


def test_forgot_password_sends_a_link_that_sets_a_new_password(client, holder, oncommit):
    response = ask_reset(client, holder.identifiant.lower(), oncommit)
    assert response.status_code == 302
    assert response["Location"] == "/compte/demande-prise-en-compte/"
    page = client.get(response["Location"])
    assert "courriers indésirables" in page.content.decode()
    assert "60 minutes" in page.content.decode()
    assert_no_missing_variable(page)

    [message] = mail.outbox
    assert message.to == ["titulaire@exemple.fr"]
    assert "60 minutes" in message.body
    assert "!!MISSING" not in message.body + message.subject
    url, token = last_link()

    landing = client.get(url)
    # The token leaves the URL at once; the page holding it sends no referrer. The form
    # page (no token in its URL) keeps the referrer on this site: with "no-referrer" the
    # browser would post "Origin: null" and the CSRF check would refuse the form.
    assert landing.status_code == 302 and token not in landing["Location"]
    assert landing["Referrer-Policy"] == "no-referrer"
    form_page = client.get(landing["Location"])
    assert form_page["Referrer-Policy"] == "same-origin"
    assert token not in form_page.content.decode()
    assert holder.identifiant in form_page.content.decode()
    assert_no_missing_variable(form_page)

    with oncommit(execute=True):
        done = client.post(
            "/compte/reinitialisation/",
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert done.status_code == 302 and done["Location"] == "/"
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)
    # The holder is told, and can log in with the new password.
    notice = mail.outbox[-1]
    assert notice.to == ["titulaire@exemple.fr"]
    assert "a été modifié" in notice.body
    login = client.post("/", {"identifiant": holder.identifiant, "password": NEW_PASSWORD})
    assert login["Location"] == "/espace/"


def test_forgot_identifiant_sends_the_identifiant_to_the_holder_address(client, holder, oncommit):
    data = with_captcha(client, FORGOT_IDENTIFIANT, {"siret": holder.establishment.siret})
    with oncommit(execute=True):
        response = client.post(FORGOT_IDENTIFIANT, data)
    assert response["Location"] == "/compte/demande-prise-en-compte/"
    [message] = mail.outbox
    assert message.to == [holder.holder_email]
    assert holder.identifiant in message.body
    assert "!!MISSING" not in message.body


def test_the_forgot_pages_remind_to_look_in_the_spam_folder(client):
    for url in (FORGOT_PASSWORD, FORGOT_IDENTIFIANT):
        page = client.get(url)
        assert "courriers indésirables" in page.content.decode()
        assert_no_missing_variable(page)


# --- Enumeration ------------------------------------------------------------------------


def _without_request_id(headers) -> list:
    return [(k, v) for k, v in headers.items() if k.lower() != "x-request-id"]


@pytest.mark.parametrize(
    "url,field", [(FORGOT_PASSWORD, "identifiant"), (FORGOT_IDENTIFIANT, "siret")]
)
def test_known_and_unknown_accounts_get_byte_identical_answers_and_the_same_work(
    client, holder, django_capture_on_commit_callbacks, url, field
):
    known = holder.identifiant if field == "identifiant" else holder.establishment.siret
    unknown = "APINCONNU42" if field == "identifiant" else "52601815500014"
    answers, callbacks = [], []
    for value in (known, unknown):
        data = with_captcha(client, url, {field: value})
        with django_capture_on_commit_callbacks(execute=False) as captured:
            response = client.post(url, data)
        answers.append(response)
        callbacks.append(len(captured))
    first, second = answers
    assert first.status_code == second.status_code == 302
    assert first.content == second.content  # byte for byte
    # Every header alike but the request's own id (new for each request, whatever it asks).
    assert sorted(_without_request_id(first.headers)) == sorted(_without_request_id(second.headers))
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert [c.key for c in first.cookies.values()] == [c.key for c in second.cookies.values()]
    # The same work enqueued: one request row and one hand-over each, and no lookup yet.
    assert callbacks == [1, 1]
    assert OutboxJob.objects.filter(kind=RECOVERY_REQUEST_JOB).count() == 2
    assert not RecoveryLink.objects.exists() and not OutboundEmail.objects.exists()
    # The page both are sent to is the same static page.
    page_known = client.get(first["Location"])
    page_unknown = client.get(second["Location"])
    assert page_known.content == page_unknown.content


def test_an_email_typed_in_forgot_password_is_refused_without_lookup(client):
    data = with_captcha(client, FORGOT_PASSWORD, {"identifiant": "claire@exemple.fr"})
    response = client.post(FORGOT_PASSWORD, data)
    assert response.status_code == 200
    assert "Ne pas saisir d&#x27;adresse de messagerie" in response.content.decode()
    assert not OutboxJob.objects.filter(kind=RECOVERY_REQUEST_JOB).exists()


# --- Token rules ------------------------------------------------------------------------


def test_the_token_is_long_random_and_only_its_hash_is_stored(client, holder, oncommit, caplog):
    caplog.set_level(logging.DEBUG)
    ask_reset(client, holder.identifiant, oncommit)
    _url, token = last_link()
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    link = RecoveryLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # In no database row (every model, every field) and in no log line.
    for model in apps.get_models():
        dump = serializers.serialize("json", model._default_manager.all())
        assert token not in dump, model
    assert token not in caplog.text
    assert token not in str(OutboundEmail.objects.get().context)


def test_two_tokens_are_never_equal(holder, oncommit):
    tokens = set()
    for _ in range(5):
        with oncommit(execute=True):
            recovery_link_create(
                account=holder,
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )
        tokens.add(last_link()[1])
    assert len(tokens) == 5


def test_a_link_is_bound_to_its_purpose(client, holder, oncommit):
    ask_reset(client, holder.identifiant, oncommit)
    _url, token = last_link()
    # A reset token on the activation page is unknown there.
    assert client.get(f"/compte/activation/{token}/").status_code == 410
    assert (
        recovery_link_find_usable(purpose=LinkPurpose.ACTIVATION, token_hash=token_digest(token))
        is None
    )
    with pytest.raises(LinkInvalid):
        recovery_link_use(
            purpose=LinkPurpose.ACTIVATION,
            token_hash=token_digest(token),
            new_password=NEW_PASSWORD,
        )


def test_a_link_is_bound_to_its_account(client, holder, oncommit):
    other = ExtranetAccountFactory(with_password=True)
    ask_reset(client, holder.identifiant, oncommit)
    url, _token = last_link()
    reset_password_through(client, url, oncommit=oncommit)
    holder.refresh_from_db()
    other.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)
    assert other.check_password(EXTRANET_TEST_PASSWORD)


def test_a_link_works_once(client, holder, oncommit):
    ask_reset(client, holder.identifiant, oncommit)
    url, token = last_link()
    reset_password_through(client, url, oncommit=oncommit)
    assert client.get(url).status_code == 410
    with pytest.raises(LinkInvalid):
        recovery_link_use(
            purpose=LinkPurpose.PASSWORD_RESET,
            token_hash=token_digest(token),
            new_password="Encore-un-autre-mot-de-passe-2026",
        )
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)


def test_the_second_of_two_uses_loses_even_with_the_page_already_open(client, holder, oncommit):
    ask_reset(client, holder.identifiant, oncommit)
    url, token = last_link()
    client.get(url)  # the form is open in this browser
    recovery_link_use(
        purpose=LinkPurpose.PASSWORD_RESET,
        token_hash=token_digest(token),
        new_password=NEW_PASSWORD,
    )  # used elsewhere meanwhile
    response = client.post(
        "/compte/reinitialisation/",
        {
            "new_password1": "Encore-un-autre-mot-de-passe-2026",
            "new_password2": "Encore-un-autre-mot-de-passe-2026",
        },
    )
    assert response.status_code == 410
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)


def test_a_link_is_valid_at_59_59_and_refused_at_60_01(holder, oncommit):
    with freeze_time("2026-06-01 10:00:00"):
        with oncommit(execute=True):
            recovery_link_create(
                account=holder,
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )
        first = token_digest(last_link()[1])
        with oncommit(execute=True):
            recovery_link_create(
                account=ExtranetAccountFactory(),
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )
        second = token_digest(last_link()[1])
    with freeze_time("2026-06-01 10:59:59"):
        assert (
            recovery_link_use(
                purpose=LinkPurpose.PASSWORD_RESET, token_hash=first, new_password=NEW_PASSWORD
            ).pk
            == holder.pk
        )
    with freeze_time("2026-06-01 11:00:01"):
        assert (
            recovery_link_find_usable(purpose=LinkPurpose.PASSWORD_RESET, token_hash=second) is None
        )
        with pytest.raises(LinkInvalid):
            recovery_link_use(
                purpose=LinkPurpose.PASSWORD_RESET, token_hash=second, new_password=NEW_PASSWORD
            )


def test_the_landing_page_refuses_an_expired_link(client, holder, oncommit):
    with freeze_time("2026-06-01 10:00:00"):
        ask_reset(client, holder.identifiant, oncommit)
        url, _token = last_link()
    with freeze_time("2026-06-01 11:00:01"):
        response = client.get(url)
        assert response.status_code == 410
        assert "valable 60 minutes" in response.content.decode()


def test_a_new_link_revokes_the_older_ones(client, holder, oncommit, settings):
    settings.RECOVERY_LINK_SPARED_MINUTES = 15
    with freeze_time(timezone.now() - timedelta(minutes=16)):
        ask_reset(client, holder.identifiant, oncommit)
    old_url, _ = last_link()
    ask_reset(client, holder.identifiant, oncommit)
    new_url, _ = last_link()
    assert old_url != new_url
    assert client.get(old_url).status_code == 410
    assert RecoveryLink.objects.filter(revoked_at__isnull=False).count() == 1
    reset_password_through(client, new_url, oncommit=oncommit)
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)


def test_a_third_party_cannot_void_a_link_issued_minutes_ago_and_the_holder_gets_one(
    client, holder, oncommit, settings
):
    """Anyone who knows the identifiant can ask for a link. Within
    RECOVERY_LINK_SPARED_MINUTES of the holder's link, a new request does not revoke it:
    the holder's link still works, and the new request still sends a link (the holder may
    be the one asking again). Using one link revokes every other."""
    settings.RECOVERY_LINK_SPARED_MINUTES = 15
    start = timezone.now()
    with freeze_time(start):
        ask_reset(client, holder.identifiant, oncommit)
    holders_url, _ = last_link()
    with freeze_time(start + timedelta(minutes=14)):
        ask_reset(client, holder.identifiant, oncommit, REMOTE_ADDR="203.0.113.9")
        second_url, _ = last_link()
        assert second_url != holders_url
        assert RecoveryLink.objects.filter(revoked_at__isnull=False).count() == 0
        reset_password_through(client, holders_url, oncommit=oncommit)
        holder.refresh_from_db()
        assert holder.check_password(NEW_PASSWORD)
        # The other link died with the use of the first.
        assert client.get(second_url).status_code == 410
    # Past the window, a new request revokes the older pending link as before.
    with freeze_time(start + timedelta(minutes=20)):
        ask_reset(client, holder.identifiant, oncommit)
        third_url, _ = last_link()
    with freeze_time(start + timedelta(minutes=36)):
        ask_reset(client, holder.identifiant, oncommit)
        assert client.get(third_url).status_code == 410


def test_links_created_by_agents_and_activations_still_revoke_at_once(holder, oncommit):
    """Only "J'ai oublié…" spares recent links: an activation link, which an agent or the
    space creation issues on purpose, replaces the pending one at once."""
    with oncommit(execute=True):
        first = recovery_link_create(
            account=holder, purpose=LinkPurpose.ACTIVATION, template="extranet_account_created"
        )
        recovery_link_create(
            account=holder, purpose=LinkPurpose.ACTIVATION, template="extranet_account_created"
        )
    first.refresh_from_db()
    assert first.revoked_at is not None


def test_a_link_revoked_before_its_email_left_is_not_sent(holder, oncommit):
    first = recovery_link_create(
        account=holder, purpose=LinkPurpose.PASSWORD_RESET, template="extranet_password_reset"
    )  # not handed over yet
    with oncommit(execute=True):
        recovery_link_create(
            account=holder, purpose=LinkPurpose.PASSWORD_RESET, template="extranet_password_reset"
        )
    assert len(mail.outbox) == 1
    assert outbox.email_deliver(email_id=first.email_id) is False
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.get(pk=first.email_id).status == EmailStatus.CANCELLED


def test_a_password_change_ends_the_other_sessions(client, holder, oncommit):
    from django.test import Client

    logged_in = Client()
    logged_in.post("/", {"identifiant": holder.identifiant, "password": EXTRANET_TEST_PASSWORD})
    assert logged_in.get("/espace/").status_code == 200
    ask_reset(client, holder.identifiant, oncommit)
    reset_password_through(client, last_link()[0], oncommit=oncommit)
    assert logged_in.get("/espace/").status_code == 302
    assert SESSION_ACCOUNT_KEY not in logged_in.session


def test_the_new_password_goes_through_django_validators(client, holder, oncommit):
    ask_reset(client, holder.identifiant, oncommit)
    client.get(last_link()[0])
    response = client.post(
        "/compte/reinitialisation/",
        {"new_password1": "123456789012", "new_password2": "123456789012"},
    )
    assert response.status_code == 200
    assert "entièrement numérique" in response.content.decode()
    mismatch = client.post(
        "/compte/reinitialisation/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
    )
    assert "ne sont pas identiques" in mismatch.content.decode()
    holder.refresh_from_db()
    assert holder.check_password(EXTRANET_TEST_PASSWORD)


# --- Rate limits ------------------------------------------------------------------------


def test_requests_are_limited_per_ip_without_locking_the_account(
    client, holder, oncommit, settings
):
    settings.PUBLIC_FORM_POSTS_PER_IP_PER_HOUR = 2
    ask_reset(client, holder.identifiant, oncommit)
    url, _ = last_link()
    ask_reset(client, holder.identifiant, oncommit)
    url, _ = last_link()
    assert ask_reset(client, holder.identifiant, oncommit).status_code == 429
    # Another address still gets its answer; the account still logs in; the link works.
    assert (
        ask_reset(client, holder.identifiant, oncommit, REMOTE_ADDR="10.9.9.9").status_code == 302
    )
    login = client.post(
        "/", {"identifiant": holder.identifiant, "password": EXTRANET_TEST_PASSWORD}
    )
    assert login.status_code == 302


def test_links_are_limited_per_account_and_the_last_one_still_works(
    client, holder, oncommit, settings
):
    settings.RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR = 2
    for ip in ("10.0.0.1", "10.0.0.2"):
        ask_reset(client, holder.identifiant, oncommit, REMOTE_ADDR=ip)
    sent = len(mail.outbox)
    url, _ = last_link()
    response = ask_reset(client, holder.identifiant, oncommit, REMOTE_ADDR="10.0.0.3")
    assert response["Location"] == "/compte/demande-prise-en-compte/"  # same answer
    assert len(mail.outbox) == sent  # but no third link this hour
    reset_password_through(client, url, oncommit=oncommit)  # the one sent still works
    holder.refresh_from_db()
    assert holder.check_password(NEW_PASSWORD)
    with freeze_time(timezone.now() + timedelta(hours=1, minutes=1)):
        ask_reset(client, holder.identifiant, oncommit, REMOTE_ADDR="10.0.0.4")
    assert len(mail.outbox) == sent + 2  # the password notice, then a new link


# --- Links and hosts --------------------------------------------------------------------


def test_links_are_built_from_the_configured_base_url_not_the_host_header(
    client, holder, oncommit, settings
):
    settings.SITE_BASE_URL = "https://extranet.activite-partielle.example"
    ask_reset(client, holder.identifiant, oncommit, HTTP_HOST="localhost")
    url, _token = last_link()
    assert url.startswith("https://extranet.activite-partielle.example/compte/reinitialisation/")


def test_a_forged_host_header_is_refused_on_the_forgot_form(client, holder):
    response = client.post(
        FORGOT_PASSWORD, {"identifiant": holder.identifiant}, HTTP_HOST="attacker.example"
    )
    assert response.status_code == 400
    assert not OutboxJob.objects.filter(kind=RECOVERY_REQUEST_JOB).exists()


# --- Worker, broker down, sweeps --------------------------------------------------------


def test_a_request_made_while_the_broker_is_down_is_sent_once_it_is_back(client, holder, oncommit):
    with mock.patch(
        "worker.tasks.run_job.delay",
        side_effect=OperationalError("Connection refused"),
    ):
        response = ask_reset(client, holder.identifiant, oncommit)
    assert response.status_code == 302
    request = OutboxJob.objects.get(kind=RECOVERY_REQUEST_JOB)
    assert request.status == "pending" and request.enqueued_at is None
    assert mail.outbox == []
    # Beat's outbox sweep hands the request over (run inline here); the worker's job
    # queues the e-mail, which the next hand-over sends.
    with oncommit(execute=True):
        assert outbox.outbox_sweep() == 1
    assert OutboxJob.objects.get(pk=request.pk).status == "sent"
    assert len(mail.outbox) == 1
    with oncommit(execute=True):
        assert outbox.outbox_sweep() == 0
    assert len(mail.outbox) == 1


def test_a_link_email_whose_hand_over_failed_is_sent_once_by_the_outbox_sweep(holder, oncommit):
    with mock.patch(
        "worker.tasks.send_email.delay", side_effect=OperationalError("Connection refused")
    ):
        with oncommit(execute=True):
            link = recovery_link_create(
                account=holder,
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )
    assert mail.outbox == []
    assert outbox.outbox_sweep() == 1
    assert outbox.outbox_sweep() == 0
    assert len(mail.outbox) == 1
    link.refresh_from_db()
    assert link.sent_at is not None and link.state == LinkState.SENT


def test_the_sweep_records_expiries_in_batches_with_ticket_events(holder, oncommit):
    ticket = TicketFactory()
    with freeze_time("2026-06-01 10:00:00"):
        for _ in range(4):
            with oncommit(execute=True):
                recovery_link_create(
                    account=ExtranetAccountFactory(),
                    purpose=LinkPurpose.PASSWORD_RESET,
                    template="extranet_password_reset",
                )
        with oncommit(execute=True):
            with_ticket = recovery_link_create(
                account=holder,
                purpose=LinkPurpose.ACTIVATION,
                template="reassignment_activation",
                ticket=ticket,
                context={"denomination": "X", "siret": "1"},
            )
        used = recovery_link_create(
            account=ExtranetAccountFactory(),
            purpose=LinkPurpose.PASSWORD_RESET,
            template="extranet_password_reset",
        )
        RecoveryLink.objects.filter(pk=used.pk).update(used_at=timezone.now())
    with freeze_time("2026-06-01 10:59:00"):
        assert recovery_links_expire_sweep(batch_size=2) == 0
    with freeze_time("2026-06-01 11:01:00"):
        assert recovery_links_expire_sweep(batch_size=2) == 5
        assert recovery_links_expire_sweep(batch_size=2) == 0
    assert RecoveryLink.objects.filter(expired_recorded_at__isnull=False).count() == 5
    with_ticket.refresh_from_db()
    assert with_ticket.state == LinkState.EXPIRED
    assert ticket.events.filter(kind=EventKind.LINK_EXPIRED).count() == 1
    assert ticket.events.filter(kind=EventKind.LINK_SENT).count() == 1


# --- What agents see --------------------------------------------------------------------


def test_agents_see_each_link_state_on_the_establishment(holder, oncommit):
    establishment = holder.establishment
    with freeze_time("2026-06-01 09:00:00"):
        with oncommit(execute=True):
            recovery_link_create(
                account=ExtranetAccountFactory(establishment=establishment),
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )  # will expire
    with oncommit(execute=True):
        recovery_link_create(
            account=holder,
            purpose=LinkPurpose.ACTIVATION,
            template="extranet_account_created",
            context={"denomination": "X", "siret": "1"},
        )  # revoked next
    with oncommit(execute=True):
        recovery_link_create(
            account=holder,
            purpose=LinkPurpose.ACTIVATION,
            template="extranet_account_created",
            context={"denomination": "X", "siret": "1"},
        )
    recovery_link_use(
        purpose=LinkPurpose.ACTIVATION,
        token_hash=token_digest(last_link()[1]),
        new_password=NEW_PASSWORD,
    )
    with oncommit(execute=True):
        recovery_link_create(
            account=holder, purpose=LinkPurpose.PASSWORD_RESET, template="extranet_password_reset"
        )  # sent, unused
    failing = recovery_link_create(
        account=holder,
        purpose=LinkPurpose.ACTIVATION,
        template="extranet_account_created",
        context={"denomination": "X", "siret": "1"},
    )
    OutboundEmail.objects.filter(pk=failing.email_id).update(status=EmailStatus.FAILED)

    links = selectors.recovery_links_for_establishment(establishment)
    states = [link.state for link in links]
    assert states == [
        LinkState.SEND_FAILED,
        LinkState.SENT,
        LinkState.USED,
        LinkState.REVOKED,
        LinkState.EXPIRED,
    ]
    html = render_to_string(
        "backoffice/establishments/_recovery_links.html", {"recovery_links": links}
    )
    for label in ("Échec d&#x27;envoi", "Envoyé", "Utilisé", "Révoqué", "Expiré"):
        assert label in html
    assert "!!MISSING" not in html
    for link in RecoveryLink.objects.all():
        assert link.token_hash == "" or link.token_hash not in html
    assert ExtranetAccount.objects.get(pk=holder.pk).check_password(NEW_PASSWORD)


def test_a_send_retried_after_an_smtp_failure_carries_a_fresh_working_token(holder, oncommit):
    import smtplib

    with mock.patch(
        "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")
    ):
        with oncommit(execute=True):
            link = recovery_link_create(
                account=holder,
                purpose=LinkPurpose.PASSWORD_RESET,
                template="extranet_password_reset",
            )
    link.refresh_from_db()
    first_hash = link.token_hash
    assert first_hash and link.sent_at is None and mail.outbox == []
    with freeze_time(timezone.now() + timedelta(minutes=2)):
        assert outbox.outbox_sweep() == 1
    _url, token = last_link()
    link.refresh_from_db()
    assert link.token_hash == token_digest(token) != first_hash
    assert link.sent_at is not None
    recovery_link_use(
        purpose=LinkPurpose.PASSWORD_RESET,
        token_hash=token_digest(token),
        new_password=NEW_PASSWORD,
    )


def test_identifiant_reminders_are_limited_per_account(client, holder, oncommit, settings):
    settings.RECOVERY_LINKS_PER_ACCOUNT_PER_HOUR = 1
    for ip in ("10.0.0.1", "10.0.0.2"):
        data = with_captcha(client, FORGOT_IDENTIFIANT, {"siret": holder.establishment.siret})
        with oncommit(execute=True):
            response = client.post(FORGOT_IDENTIFIANT, data, REMOTE_ADDR=ip)
        assert response["Location"] == "/compte/demande-prise-en-compte/"
    assert len(mail.outbox) == 1
