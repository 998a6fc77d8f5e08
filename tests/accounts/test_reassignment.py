"""Case 2.1: the guarded reassignment of an extranet account (DESIGN.md section 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from accounts.extranet.exceptions import ReassignmentForbidden, ReassignmentRefused
from accounts.extranet.links import recovery_link_create, token_digest
from accounts.extranet.models import (
    AccountReassignment,
    ExtranetHolderHistory,
    LinkPurpose,
    ReassignmentState,
    RecoveryLink,
)
from accounts.extranet.reassignment import (
    reassignment_apply,
    reassignment_cancel,
    reassignment_object,
    reassignment_prepare,
    reassignment_reject,
    reassignments_apply_due,
)
from tests.accounts.helpers import (
    approve,
    assert_no_missing_variable,
    last_link,
    links_in,
    record_siret_verification,
)
from tests.factories import (
    EXTRANET_TEST_PASSWORD,
    EstablishmentFactory,
    ExtranetAccountFactory,
    TicketFactory,
    UserFactory,
)
from tests.support.auth import otp_login
from tickets.exceptions import TicketNotFound
from tickets.models import EventKind, Motif, Priority, Status

pytestmark = pytest.mark.django_db

NEW_HOLDER = {
    "new_holder_last_name": "Dupont",
    "new_holder_first_name": "Claire",
    "new_holder_email": "claire.dupont@exemple.fr",
    "new_holder_phone": "+33102030405",
    "evidence_notes": "Kbis du 02/05 ; appel au standard de l'établissement, gérant confirmé.",
}


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def account():
    establishment = EstablishmentFactory(siret="73282932000074", email="contact@boulangerie.fr")
    return ExtranetAccountFactory(
        establishment=establishment, with_password=True, holder_email="ancienne@boulangerie.fr"
    )


@pytest.fixture
def ticket(account, agent):
    ticket = TicketFactory(
        siret=account.establishment.siret,
        establishment=account.establishment,
        email="claire.dupont@exemple.fr",
        requester_name="Claire Dupont",
    )
    record_siret_verification(ticket, actor=agent)
    return ticket


@pytest.fixture
def other_supervisor(db):
    return UserFactory(email="superviseur2@asp.example", supervisor=True)


def prepare(ticket, actor, **overrides):
    return reassignment_prepare(ticket=ticket, actor=actor, **{**NEW_HOLDER, **overrides})


def approved(ticket, agent, supervisor, oncommit):
    reassignment = prepare(ticket, agent).reassignment
    with oncommit(execute=True):
        approve(reassignment, supervisor)
    reassignment.refresh_from_db()
    return reassignment


def steps(ticket):
    return [
        e.data["step"]
        for e in ticket.events.filter(kind=EventKind.REASSIGNMENT).order_by("created_at", "id")
    ]


# --- Preparing ----------------------------------------------------------------------------


def test_an_agent_of_the_queue_prepares_from_a_verified_habilitation_ticket(ticket, agent, account):
    result = prepare(ticket, agent)
    reassignment = result.reassignment
    assert reassignment.state == ReassignmentState.PREPARED
    assert reassignment.account == account
    assert reassignment.prepared_by == agent
    assert result.repeated_within_window is False
    [event] = ticket.events.filter(kind=EventKind.REASSIGNMENT)
    assert event.actor == agent
    assert event.data["before"]["email"] == "ancienne@boulangerie.fr"
    assert event.data["after"]["email"] == "claire.dupont@exemple.fr"
    assert event.data["evidence_notes"].startswith("Kbis")
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS


def test_without_a_passed_siret_verification_it_is_refused(account, agent):
    never_verified = TicketFactory(siret=account.establishment.siret)
    with pytest.raises(ReassignmentRefused, match="vérification du SIRET"):
        prepare(never_verified, agent)
    failed_last = TicketFactory(siret=account.establishment.siret)
    record_siret_verification(failed_last, verdict="passed")
    record_siret_verification(failed_last, verdict="failed")  # the latest one counts
    with pytest.raises(ReassignmentRefused):
        prepare(failed_last, agent)
    assert not AccountReassignment.objects.exists()


def test_only_from_a_habilitation_ticket(account, agent):
    ticket = TicketFactory(siret=account.establishment.siret, motif=Motif.AUTRES)
    record_siret_verification(ticket)
    with pytest.raises(ReassignmentRefused, match="Habilitation"):
        prepare(ticket, agent)


def test_an_agent_outside_the_queue_cannot_prepare(ticket, other_agent):
    # Outside the agent's queues the ticket does not exist (the access rule): not found.
    with pytest.raises(TicketNotFound):
        prepare(ticket, other_agent)
    assert not AccountReassignment.objects.exists()


def test_one_open_reassignment_per_account(ticket, agent, account):
    prepare(ticket, agent)
    second = TicketFactory(siret=account.establishment.siret)
    record_siret_verification(second)
    with pytest.raises(ReassignmentRefused, match="déjà en cours"):
        prepare(second, agent)


# --- Four eyes ----------------------------------------------------------------------------


def test_the_preparer_can_never_approve_even_as_supervisor(ticket, supervisor, account):
    reassignment = prepare(ticket, supervisor).reassignment
    events_before = ticket.events.count()
    with pytest.raises(ReassignmentForbidden):
        approve(reassignment, supervisor)
    with pytest.raises(ReassignmentForbidden):
        reassignment_reject(reassignment=reassignment, actor=supervisor)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED
    assert reassignment.approved_by is None and reassignment.apply_after is None
    assert ticket.events.count() == events_before
    assert mail.outbox == []
    account.refresh_from_db()
    assert account.holder_email == "ancienne@boulangerie.fr"


def test_an_agent_cannot_approve(ticket, agent, other_agent):
    reassignment = prepare(ticket, agent).reassignment
    with pytest.raises(ReassignmentForbidden):
        approve(reassignment, other_agent)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED


def test_a_supervisor_rejects(ticket, agent, supervisor):
    reassignment = prepare(ticket, agent).reassignment
    reassignment_reject(reassignment=reassignment, actor=supervisor, comment="Kbis illisible")
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.REJECTED
    assert reassignment.rejected_by == supervisor
    with pytest.raises(ReassignmentRefused):
        approve(reassignment, supervisor)
    assert steps(ticket) == ["prepared", "rejected"]


def test_approval_sends_notices_with_objection_links_and_waits(
    ticket, agent, supervisor, oncommit, settings
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 24
    with freeze_time("2026-06-01 10:00:00"):
        reassignment = approved(ticket, agent, supervisor, oncommit)
        assert reassignment.state == ReassignmentState.APPROVED
        assert reassignment.approved_by == supervisor
        assert reassignment.apply_after == timezone.now() + timedelta(hours=24)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["ancienne@boulangerie.fr", "contact@boulangerie.fr"]
    for message in mail.outbox:
        [(url, _token)] = links_in(message)
        assert "/opposition/" in url
        assert "!!MISSING" not in message.body
    # Nothing applies before the period is over.
    with freeze_time("2026-06-02 09:59:00"):
        assert reassignments_apply_due() == 0
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED


def test_a_second_reassignment_within_90_days_is_flagged(
    ticket, agent, supervisor, other_supervisor, account, oncommit, settings
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 1
    with freeze_time("2026-03-01 10:00:00"):
        first = approved(ticket, agent, supervisor, oncommit)
    with freeze_time("2026-03-01 12:00:00"), oncommit(execute=True):
        reassignment_apply(reassignment_id=first.pk)
    with freeze_time("2026-04-01 10:00:00"):
        second_ticket = TicketFactory(siret=account.establishment.siret)
        record_siret_verification(second_ticket)
        result = prepare(second_ticket, agent, new_holder_email="autre@exemple.fr")
        assert result.repeated_within_window is True
        approval = approve(result.reassignment, supervisor)
        assert approval.repeated_within_window is True
        client = Client()
        otp_login(client, other_supervisor)
        page = client.get(f"/backoffice/reattributions/{result.reassignment.pk}/")
        html = page.content.decode()
        assert "Ce SIRET a fait l'objet d'une autre réattribution" in html
        assert "Plusieurs demandes sur l&#x27;entreprise" in html
    with freeze_time("2026-09-01 10:00:00"):
        third_ticket = TicketFactory(siret=account.establishment.siret)
        record_siret_verification(third_ticket)
        reassignment_cancel(reassignment=result.reassignment, actor=supervisor)
        assert prepare(third_ticket, agent).repeated_within_window is False


# --- Objection ----------------------------------------------------------------------------


def test_an_objection_cancels_the_change_and_flags_the_ticket(
    ticket, agent, supervisor, account, oncommit, client
):
    reassignment = approved(ticket, agent, supervisor, oncommit)
    holder_notice = next(m for m in mail.outbox if m.to == ["ancienne@boulangerie.fr"])
    [(url, token)] = links_in(holder_notice)
    landing = client.get(url)
    assert landing.status_code == 302 and token not in landing["Location"]
    assert landing["Referrer-Policy"] == "no-referrer"
    page = client.get(landing["Location"])
    # Token-free form page: same-origin, else the browser posts "Origin: null" (CSRF 403).
    assert page["Referrer-Policy"] == "same-origin"
    assert "Claire Dupont" in page.content.decode()
    assert_no_missing_variable(page)
    response = client.post("/opposition/")
    assert response.status_code == 200
    assert "opposition est enregistrée" in response.content.decode()

    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.OBJECTED
    assert reassignment.objected_by_party == "previous_holder"
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert steps(ticket) == ["prepared", "approved", "objected"]
    # Nothing applies, ever; and the link does not work twice.
    with freeze_time(timezone.now() + timedelta(days=30)):
        assert reassignments_apply_due() == 0
    account.refresh_from_db()
    assert account.holder_email == "ancienne@boulangerie.fr"
    assert client.get(url).status_code == 410
    with pytest.raises(ReassignmentRefused):
        reassignment_object(token_hash=token_digest(token))


def test_the_establishment_address_can_object_too(ticket, agent, supervisor, oncommit):
    reassignment = approved(ticket, agent, supervisor, oncommit)
    notice = next(m for m in mail.outbox if m.to == ["contact@boulangerie.fr"])
    [(_url, token)] = links_in(notice)
    reassignment_object(token_hash=token_digest(token))
    reassignment.refresh_from_db()
    assert reassignment.objected_by_party == "establishment"


# --- Applying -----------------------------------------------------------------------------


def test_the_worker_applies_it_once_after_the_wait(
    ticket, agent, supervisor, account, oncommit, settings
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 0.02  # the demo's 72 seconds
    previous_holder = Client()
    previous_holder.post(
        "/", {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD}
    )
    assert previous_holder.get("/espace/").status_code == 200
    pending = recovery_link_create(
        account=account, purpose=LinkPurpose.PASSWORD_RESET, template="extranet_password_reset"
    )
    with freeze_time("2026-06-01 10:00:00"):
        reassignment = approved(ticket, agent, supervisor, oncommit)
    mail.outbox.clear()
    with freeze_time("2026-06-01 10:01:00"):
        assert reassignments_apply_due() == 0
    with freeze_time("2026-06-01 10:01:13"), oncommit(execute=True):
        assert reassignments_apply_due() == 1
        assert reassignments_apply_due() == 0
        assert reassignment_apply(reassignment_id=reassignment.pk) is False

    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPLIED
    account.refresh_from_db()
    assert account.holder_email == "claire.dupont@exemple.fr"
    assert account.holder_name == "Claire Dupont"
    assert not account.has_usable_password()
    [history] = ExtranetHolderHistory.objects.all()
    assert history.previous_email == "ancienne@boulangerie.fr"
    assert history.new_email == "claire.dupont@exemple.fr"
    assert history.reassignment == reassignment
    pending.refresh_from_db()
    assert pending.revoked_at is not None
    # The previous holder: open session rejected, can no longer log in.
    assert previous_holder.get("/espace/").status_code == 302
    relogin = Client().post(
        "/", {"identifiant": account.identifiant, "password": EXTRANET_TEST_PASSWORD}
    )
    assert relogin.status_code == 200
    # The new holder gets the activation link, the requester is told.
    assert sorted(m.to[0] for m in mail.outbox) == ["claire.dupont@exemple.fr"] * 2
    activation = next(m for m in mail.outbox if links_in(m))
    assert account.identifiant in activation.body
    assert "!!MISSING" not in activation.body
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLU
    assert steps(ticket) == ["prepared", "approved", "applied"]
    applied = ticket.events.get(kind=EventKind.REASSIGNMENT, data__step="applied")
    assert applied.data["before"]["email"] == "ancienne@boulangerie.fr"
    assert applied.data["after"]["email"] == "claire.dupont@exemple.fr"
    assert (
        RecoveryLink.objects.filter(
            purpose=LinkPurpose.ACTIVATION, used_at=None, revoked_at=None
        ).count()
        == 1
    )


def test_the_new_holder_activates_and_logs_in_with_the_identifiant(
    ticket, agent, supervisor, account, oncommit, client, settings
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 1
    with freeze_time("2026-06-01 10:00:00"):
        reassignment = approved(ticket, agent, supervisor, oncommit)
    with freeze_time("2026-06-01 11:00:01"):
        with oncommit(execute=True):
            assert reassignment_apply(reassignment_id=reassignment.pk)
        url, token = last_link("claire.dupont@exemple.fr")
        assert "/compte/activation/" in url
        landing = client.get(url)
        assert landing["Location"] == "/compte/activation/"
        page = client.get("/compte/activation/")
        assert "Activer mon compte" in page.content.decode()
        with oncommit(execute=True):
            done = client.post(
                "/compte/activation/",
                {
                    "new_password1": "Claire-choisit-son-mot-2026",
                    "new_password2": "Claire-choisit-son-mot-2026",
                },
            )
        assert done["Location"] == "/"
        login = client.post(
            "/", {"identifiant": account.identifiant, "password": "Claire-choisit-son-mot-2026"}
        )
        assert login["Location"] == "/espace/"
    assert ticket.events.filter(kind=EventKind.LINK_USED).count() == 1


def test_every_step_event_has_no_secret(ticket, agent, supervisor, oncommit, settings):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 1
    with freeze_time("2026-06-01 10:00:00"):
        reassignment = approved(ticket, agent, supervisor, oncommit)
    with freeze_time("2026-06-01 11:00:01"), oncommit(execute=True):
        reassignment_apply(reassignment_id=reassignment.pk)
    tokens = [token for message in mail.outbox for _url, token in links_in(message)]
    assert tokens
    for event in ticket.events.all():
        text = str(event.data).lower()
        assert "password" not in text.replace("password_unusable", "")
        for token in tokens:
            assert token not in text and token_digest(token) not in text


# --- Back-office pages --------------------------------------------------------------------


def test_the_agent_prepares_and_another_supervisor_approves_through_the_pages(
    ticket, agent, supervisor, client, oncommit
):
    otp_login(client, agent)
    page = client.get(f"/backoffice/demandes/{ticket.reference}/reattribution/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="claire.dupont@exemple.fr"' in html and 'value="Claire"' in html
    assert "Vérification du SIRET : conforme" in html
    assert f'href="/backoffice/tickets/{ticket.pk}/"' in html  # back to the ticket
    assert_no_missing_variable(page)
    response = client.post(
        f"/backoffice/demandes/{ticket.reference}/reattribution/",
        {**NEW_HOLDER, "new_holder_phone": "01 02 03 04 05"},
    )
    reassignment = AccountReassignment.objects.get()
    assert response["Location"] == f"/backoffice/reattributions/{reassignment.pk}/"
    own = client.get(response["Location"])
    assert "Approuver la réattribution" not in own.content.decode()
    version = own.context["file_version"]
    url = f"/backoffice/reattributions/{reassignment.pk}/valider/"
    assert client.post(url, {"approve-file_version": version}).status_code == 403
    otp_login(client, supervisor)
    queue = client.get("/backoffice/reattributions/")
    assert ticket.reference in queue.content.decode()
    assert_no_missing_variable(queue)
    detail = client.get(f"/backoffice/reattributions/{reassignment.pk}/")
    assert "Approuver la réattribution" in detail.content.decode()
    assert_no_missing_variable(detail)
    with oncommit(execute=True):
        client.post(url, {"approve-file_version": detail.context["file_version"]})
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED
    assert reassignment.approved_by == supervisor


def test_the_prepare_page_refuses_without_verification(account, agent, client):
    ticket = TicketFactory(siret=account.establishment.siret)
    otp_login(client, agent)
    response = client.post(f"/backoffice/demandes/{ticket.reference}/reattribution/", NEW_HOLDER)
    assert response.status_code == 200
    assert "vérification du SIRET" in response.content.decode()
    assert not AccountReassignment.objects.exists()


def test_an_agent_resends_the_activation_link_without_seeing_it(
    ticket, agent, supervisor, oncommit, client, settings
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 1
    with freeze_time("2026-06-01 10:00:00"):
        reassignment = approved(ticket, agent, supervisor, oncommit)
    with freeze_time("2026-06-01 11:00:01"), oncommit(execute=True):
        reassignment_apply(reassignment_id=reassignment.pk)
    first_url, _ = last_link("claire.dupont@exemple.fr")
    otp_login(client, agent)
    with oncommit(execute=True):
        response = client.post(
            f"/backoffice/reattributions/{reassignment.pk}/renvoyer-activation/", follow=True
        )
    html = response.content.decode()
    second_url, second_token = last_link("claire.dupont@exemple.fr")
    assert second_url != first_url
    assert second_token not in html  # the agent never sees the link
    assert Client().get(first_url).status_code == 410  # the older one is revoked
    assert "activation_link_resent" in steps(ticket)


def test_the_activation_link_cannot_be_resent_before_the_change_applied(ticket, agent):
    from accounts.extranet.reassignment import activation_link_resend

    reassignment = prepare(ticket, agent).reassignment
    with pytest.raises(ReassignmentRefused):
        activation_link_resend(reassignment=reassignment, actor=agent)


def test_the_approval_queue_runs_a_fixed_number_of_queries(client, supervisor, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_one(siret):
        account = ExtranetAccountFactory(establishment=EstablishmentFactory(siret=siret))
        ticket = TicketFactory(siret=siret)
        record_siret_verification(ticket)
        prepare(ticket, agent, new_holder_email=f"n{siret}@exemple.fr")
        return account

    otp_login(client, supervisor)
    add_one("73282932000074")
    client.get("/backoffice/reattributions/")  # warm the live-notices cache, as in production
    with CaptureQueriesContext(connection) as one:
        assert client.get("/backoffice/reattributions/").status_code == 200
    for siret in ("52601815500014", "90830166600016", "13186091800013"):
        add_one(siret)
    with CaptureQueriesContext(connection) as four:
        page = client.get("/backoffice/reattributions/")
    assert page.content.decode().count("/backoffice/reattributions/") >= 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_preparer_ticks_the_documents_checked_and_they_are_recorded(ticket, agent, client):
    from tests.support.documents import attach, jpeg_bytes

    kbis = attach(ticket, name="kbis.pdf")
    identity = attach(ticket, name="cni.jpg", content=jpeg_bytes(), kind="identity")
    rejected = attach(ticket, name="vieux-kbis.pdf")
    type(rejected).objects.filter(pk=rejected.pk).update(status="rejected")
    otp_login(client, agent)
    url = f"/backoffice/demandes/{ticket.reference}/reattribution/"
    page = client.get(url).content.decode()
    assert "Documents reçus du demandeur" in page
    assert "kbis.pdf" in page and "cni.jpg" in page
    assert f'value="{kbis.pk}"' in page and f'value="{identity.pk}"' in page
    assert f'value="{rejected.pk}"' not in page  # a rejected document cannot be ticked
    # A document of another ticket cannot be ticked either.
    stranger = attach(TicketFactory(), name="autre.pdf")
    response = client.post(
        url,
        {**NEW_HOLDER, "new_holder_phone": "01 02 03 04 05", "checked_documents": [stranger.pk]},
    )
    assert response.status_code == 200 and not AccountReassignment.objects.exists()
    response = client.post(
        url, {**NEW_HOLDER, "new_holder_phone": "01 02 03 04 05", "checked_documents": [kbis.pk]}
    )
    assert response.status_code == 302
    kbis.refresh_from_db()
    identity.refresh_from_db()
    assert kbis.checked_by == agent and kbis.checked_at is not None
    assert identity.checked_by is None
    event = ticket.events.get(kind=EventKind.REASSIGNMENT, data__step="prepared")
    assert event.data["checked_documents"] == [
        {"id": kbis.pk, "name": "kbis.pdf", "kind": "kbis", "sha256": kbis.sha256}
    ]
