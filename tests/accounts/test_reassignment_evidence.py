"""Case 2.1 as a decision made on evidence: the name rule, the re-checks at every step,
written acknowledgements and two approvers, stale approvals, the access rule on every page
and API operation, and fixed query counts on the pending list and the approval page."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from stdnum import luhn

from accounts.extranet.exceptions import ReassignmentForbidden, ReassignmentRefused
from accounts.extranet.models import AccountReassignment, ReassignmentState
from accounts.extranet.reassignment import (
    reassignment_apply,
    reassignment_approve,
    reassignment_prepare,
)
from accounts.extranet.risk import reassignment_signals_live
from accounts.extranet.selectors import reassignment_file_version
from establishments.models import RegistryEstablishment
from establishments.services import COLUMNS, registry_import
from tests.accounts.helpers import approve, record_siret_verification
from tests.factories import (
    VALID_SIRETS,
    EstablishmentFactory,
    ExtranetAccountFactory,
    TicketFactory,
    UserFactory,
)
from tests.support.auth import otp_login
from tickets.exceptions import SiretVerificationRefused
from tickets.models import EventKind, Priority
from tickets.services import ticket_note_add
from tickets.verification import ticket_siret_verify

pytestmark = pytest.mark.django_db

NEW_HOLDER = {
    "new_holder_last_name": "Dupont",
    "new_holder_first_name": "Claire",
    "new_holder_email": "claire.dupont@boulangerie-marche.fr",
    "new_holder_phone": "+33102030405",
    "evidence_notes": "Kbis du 02/05 ; appel au standard de l'établissement, gérant confirmé.",
}


@pytest.fixture
def account():
    establishment = EstablishmentFactory(
        siret="73282932000074", email="contact@boulangerie-marche.fr"
    )
    return ExtranetAccountFactory(establishment=establishment, holder_email="ancienne@bm.fr")


@pytest.fixture
def ticket(account, agent):
    ticket = TicketFactory(
        siret=account.establishment.siret,
        denomination="Boulangerie du Marché",
        email="claire.dupont@boulangerie-marche.fr",
        phone="+33102030405",
        requester_name="Claire Dupont",
    )
    record_siret_verification(ticket, actor=agent)
    return ticket


@pytest.fixture
def other_supervisor(db):
    return UserFactory(email="superviseur2@asp.example", supervisor=True)


def prepare(ticket, actor, **overrides):
    return reassignment_prepare(ticket=ticket, actor=actor, **{**NEW_HOLDER, **overrides})


def close_in_registry(siret: str) -> None:
    RegistryEstablishment.objects.filter(siret=siret).update(administrative_status="F")


def flagged_steps(ticket) -> list[str]:
    return [
        e.data["refused_step"]
        for e in ticket.events.filter(kind=EventKind.REASSIGNMENT).order_by("id")
        if e.data.get("step") == "flagged"
    ]


# --- The name rule ------------------------------------------------------------------------


def _registry(siret: str, denomination: str) -> None:
    RegistryEstablishment.objects.update_or_create(
        siret=siret,
        defaults={"siren": siret[:9], "administrative_status": "A", "denomination": denomination},
    )


def test_a_name_identical_after_normalisation_passes_without_justification(agent):
    ticket = TicketFactory(siret=VALID_SIRETS[0], denomination="Boulangerie du Marché SARL")
    _registry(ticket.siret, "BOULANGERIE DU MARCHE")
    verification = ticket_siret_verify(
        ticket=ticket, actor=agent, verdict="passed", comment="Kbis conforme."
    )
    assert verification.checks["name_match"] == "exact"
    assert verification.name_justification == ""


def test_a_near_miss_needs_a_written_justification_and_reaches_the_approver(agent):
    ticket = TicketFactory(siret=VALID_SIRETS[0], denomination="Boulangerie du Marché Nord")
    _registry(ticket.siret, "BOULANGERIE DU MARCHE")
    with pytest.raises(SiretVerificationRefused) as refused:
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Kbis vu.")
    assert refused.value.field == "name_justification"
    verification = ticket_siret_verify(
        ticket=ticket,
        actor=agent,
        verdict="passed",
        comment="Kbis vu.",
        name_justification="Enseigne commerciale ; le Kbis porte la dénomination du registre.",
    )
    assert verification.checks["name_match"] == "close"
    assert "name_close" in {w["code"] for w in verification.checks["warnings"]}
    # A verdict other than "passed" needs no justification.
    ticket_siret_verify(ticket=ticket, actor=agent, verdict="inconclusive", comment="À revoir.")


def test_a_registry_row_without_a_name_needs_a_justification(agent):
    ticket = TicketFactory(siret=VALID_SIRETS[0], denomination="Boulangerie du Marché")
    _registry(ticket.siret, "")
    with pytest.raises(SiretVerificationRefused):
        ticket_siret_verify(ticket=ticket, actor=agent, verdict="passed", comment="Kbis vu.")
    verification = ticket_siret_verify(
        ticket=ticket, actor=agent, verdict="passed", comment="Kbis vu.",
        name_justification="Le registre ne donne pas de nom ; Kbis et appel au standard.",
    )  # fmt: skip
    assert verification.checks["name_match"] == "unknown"


def test_the_siret_page_asks_for_the_justification(agent, client):
    ticket = TicketFactory(siret=VALID_SIRETS[0], denomination="Boulangerie du Marché Nord")
    _registry(ticket.siret, "BOULANGERIE DU MARCHE")
    otp_login(client, agent)
    url = f"/backoffice/tickets/{ticket.pk}/verification-siret/"
    refused = client.post(url, {"verdict": "passed", "comment": "Kbis vu."})
    assert refused.status_code == 400
    assert "justifiez par écrit" in refused.content.decode()
    ok = client.post(
        url,
        {"verdict": "passed", "comment": "Kbis vu.", "name_justification": "Enseigne."},
    )
    assert ok.status_code == 302


def test_the_approval_page_flags_a_name_that_is_not_identical(agent, supervisor, client, account):
    ticket = TicketFactory(
        siret=account.establishment.siret, denomination="Boulangerie du Marché Nord"
    )
    _registry(ticket.siret, "BOULANGERIE DU MARCHE")
    ticket_siret_verify(
        ticket=ticket, actor=agent, verdict="passed", comment="Kbis vu.",
        name_justification="Enseigne commerciale.",
    )  # fmt: skip
    reassignment = prepare(ticket, agent).reassignment
    assert reassignment.name_match == "close"
    otp_login(client, supervisor)
    html = client.get(f"/backoffice/reattributions/{reassignment.pk}/").content.decode()
    assert "pas identique : justification exigée" in html
    assert "Enseigne commerciale." in html
    listing = client.get("/backoffice/reattributions/").content.decode()
    assert "Dénomination non identique" in listing


# --- Re-check at every step ---------------------------------------------------------------


def test_a_closure_between_verification_and_preparation_refuses_it(ticket, agent):
    close_in_registry(ticket.siret)
    with pytest.raises(ReassignmentRefused, match="fermé"):
        prepare(ticket, agent)
    assert not AccountReassignment.objects.exists()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert flagged_steps(ticket) == ["prepare"]


def test_a_closure_between_preparation_and_approval_refuses_it(ticket, agent, supervisor):
    reassignment = prepare(ticket, agent).reassignment
    close_in_registry(ticket.siret)
    with pytest.raises(ReassignmentRefused, match="fermé"):
        approve(reassignment, supervisor)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED
    assert "fermé" in reassignment.flag_reason
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert flagged_steps(ticket) == ["approve"]


def test_a_closure_between_approval_and_application_stops_the_worker(
    ticket, agent, supervisor, settings, django_capture_on_commit_callbacks
):
    settings.REASSIGNMENT_WAITING_PERIOD_HOURS = 0.0001
    reassignment = prepare(ticket, agent).reassignment
    with django_capture_on_commit_callbacks(execute=True):
        approve(reassignment, supervisor)
    close_in_registry(ticket.siret)
    reassignment.apply_after = timezone.now() - timedelta(seconds=1)
    reassignment.save(update_fields=["apply_after"])
    assert reassignment_apply(reassignment_id=reassignment.pk) is False
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.CANCELLED
    assert "fermé" in reassignment.decision_comment
    account = reassignment.account
    account.refresh_from_db()
    assert account.holder_email == "ancienne@bm.fr"  # never applied
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert flagged_steps(ticket) == ["apply"]


def test_a_withdrawn_verdict_between_approval_and_application_stops_the_worker(
    ticket, agent, supervisor, settings
):
    reassignment = prepare(ticket, agent).reassignment
    approve(reassignment, supervisor)
    record_siret_verification(ticket, verdict="failed", actor=agent)
    AccountReassignment.objects.filter(pk=reassignment.pk).update(
        apply_after=timezone.now() - timedelta(seconds=1)
    )
    assert reassignment_apply(reassignment_id=reassignment.pk) is False
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.CANCELLED
    assert flagged_steps(ticket) == ["apply"]


def test_a_siret_unknown_to_the_registry_at_approval_is_refused(ticket, agent, supervisor):
    reassignment = prepare(ticket, agent).reassignment
    RegistryEstablishment.objects.filter(siret=ticket.siret).delete()
    with pytest.raises(ReassignmentRefused, match="plus connu"):
        approve(reassignment, supervisor)
    assert flagged_steps(ticket) == ["approve"]


def _sirene_csv(rows: list[dict]) -> io.StringIO:
    lines = [",".join(COLUMNS)]
    for row in rows:
        lines.append(",".join(row.get(c, "") for c in COLUMNS))
    return io.StringIO("\n".join(lines) + "\n")


def test_an_import_sirene_that_closes_the_establishment_flags_the_pending_change(
    ticket, agent, client, supervisor
):
    reassignment = prepare(ticket, agent).reassignment
    siret = ticket.siret
    registry_import(
        stream=_sirene_csv(
            [
                {
                    "siren": siret[:9], "nic": siret[9:], "siret": siret,
                    "dateDebut": "2001-01-01", "etatAdministratifEtablissement": "F",
                    "denominationUsuelleEtablissement": "BOULANGERIE DU MARCHE",
                }
            ]
        )
    )  # fmt: skip
    reassignment.refresh_from_db()
    assert "fermé" in reassignment.flag_reason
    assert flagged_steps(ticket) == ["registry_closed"]
    otp_login(client, supervisor)
    assert "Signalée" in client.get("/backoffice/reattributions/").content.decode()
    # A second run of the same file closes nothing more.
    registry_import(
        stream=_sirene_csv(
            [
                {
                    "siren": siret[:9], "nic": siret[9:], "siret": siret,
                    "dateDebut": "2001-01-01", "etatAdministratifEtablissement": "F",
                    "denominationUsuelleEtablissement": "BOULANGERIE DU MARCHE",
                }
            ]
        )
    )  # fmt: skip
    assert flagged_steps(ticket) == ["registry_closed"]


# --- Signals need written acknowledgements; two signals need two approvers ------------------


def _two_signals(ticket):
    """A webmail new holder (the establishment is at its own domain) on an establishment
    created 20 days ago in the registry."""
    RegistryEstablishment.objects.filter(siret=ticket.siret).update(
        started_on=date.today() - timedelta(days=20)
    )
    return {"new_holder_email": "boulangerie.marche@gmail.com"}


def test_each_signal_must_be_acknowledged_in_writing(ticket, agent, supervisor):
    reassignment = prepare(ticket, agent, **_two_signals(ticket)).reassignment
    codes = {s.code for s in reassignment_signals_live(reassignment_id=reassignment.pk)}
    assert codes == {"webmail", "new_establishment"}
    version = reassignment_file_version(reassignment_id=reassignment.pk)
    with pytest.raises(ReassignmentRefused, match="par écrit"):
        reassignment_approve(
            reassignment=reassignment,
            actor=supervisor,
            file_version=version,
            acknowledgements={"webmail": "Appel au gérant.", "new_establishment": "  "},
        )
    assert not reassignment.approvals.exists()


def test_two_signals_need_two_different_supervisors(
    ticket, agent, supervisor, other_supervisor, client
):
    reassignment = prepare(ticket, agent, **_two_signals(ticket)).reassignment
    first = approve(reassignment, supervisor)
    assert first.approvals_missing == 1
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED
    with pytest.raises(ReassignmentForbidden):
        approve(reassignment, supervisor)
    otp_login(client, supervisor)
    page = client.get(f"/backoffice/reattributions/{reassignment.pk}/").content.decode()
    assert "un second superviseur doit l&#x27;approuver" in page or "second superviseur" in page
    assert 'data-testid="approve-form"' not in page
    second = approve(reassignment, other_supervisor)
    assert second.approvals_missing == 0
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED
    assert reassignment.approvals.count() == 2


def test_one_signal_needs_one_approver(ticket, agent, supervisor):
    reassignment = prepare(ticket, agent, new_holder_email="claire@gmail.com").reassignment
    assert len(reassignment_signals_live(reassignment_id=reassignment.pk)) == 1
    approve(reassignment, supervisor)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED


def test_the_approval_page_asks_for_each_acknowledgement(ticket, agent, supervisor, client):
    reassignment = prepare(ticket, agent, **_two_signals(ticket)).reassignment
    otp_login(client, supervisor)
    url = f"/backoffice/reattributions/{reassignment.pk}/"
    page = client.get(url)
    html = page.content.decode()
    assert "Messagerie gratuite" in html and "Établissement récent" in html
    assert 'name="approve-ack_webmail"' in html and 'name="approve-ack_new_establishment"' in html
    version = page.context["file_version"]
    missing = client.post(url + "valider/", {"approve-file_version": version})
    assert missing.status_code == 400
    assert not reassignment.approvals.exists()
    done = client.post(
        url + "valider/",
        {
            "approve-file_version": version,
            "approve-ack_webmail": "Gérant joint au standard : adresse personnelle confirmée.",
            "approve-ack_new_establishment": "Création récente confirmée par le Kbis.",
        },
    )
    assert done.status_code == 302
    assert reassignment.approvals.get().acknowledgements["webmail"].startswith("Gérant")


# --- A stale approval is refused ---------------------------------------------------------


def test_an_approval_on_an_older_version_of_the_file_is_refused(ticket, agent, supervisor, client):
    reassignment = prepare(ticket, agent).reassignment
    otp_login(client, supervisor)
    url = f"/backoffice/reattributions/{reassignment.pk}/"
    version = client.get(url).context["file_version"]
    ticket_note_add(ticket=ticket, actor=agent, body="Le demandeur a rappelé : autre Kbis.")
    response = client.post(url + "valider/", {"approve-file_version": version}, follow=True)
    assert "Le dossier a changé depuis que vous l&#x27;avez ouvert" in response.content.decode()
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED
    with pytest.raises(ReassignmentRefused, match="dossier a changé"):
        reassignment_approve(reassignment=reassignment, actor=supervisor, file_version=version)
    fresh = client.get(url).context["file_version"]
    assert fresh != version
    client.post(url + "valider/", {"approve-file_version": fresh})
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED


def test_the_api_refuses_a_stale_approval_with_409(ticket, agent, supervisor, client):
    reassignment = prepare(ticket, agent).reassignment
    otp_login(client, supervisor)
    file = client.get(f"/api/v1/reassignments/{reassignment.pk}").json()
    assert file["verification"]["verdict"] == "passed"
    assert file["registry"]["administrative_status"] == "A"
    record_siret_verification(ticket, actor=agent)  # a new verification since
    response = client.post(
        f"/api/v1/reassignments/{reassignment.pk}/approve",
        json.dumps({"file_version": file["file_version"]}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "dossier a changé" in response.json()["detail"]


# --- The access rule: an agent of another queue gets 404 everywhere --------------------------


def test_every_reassignment_page_and_api_operation_is_404_outside_ones_queues(
    ticket, agent, other_agent
):
    reassignment = prepare(ticket, agent).reassignment
    client = Client()
    otp_login(client, other_agent)
    pk = reassignment.pk
    for url in (
        f"/backoffice/reattributions/{pk}/",
        f"/backoffice/demandes/{ticket.reference}/reattribution/",
        f"/api/v1/reassignments/{pk}",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/backoffice/reattributions/{pk}/valider/",
        f"/backoffice/reattributions/{pk}/refuser/",
        f"/backoffice/reattributions/{pk}/annuler/",
    ):
        assert client.post(url, {}).status_code == 404, url
    for url in (
        f"/api/v1/reassignments/{pk}/approve",
        f"/api/v1/reassignments/{pk}/reject",
        f"/api/v1/reassignments/{pk}/cancel",
        f"/api/v1/tickets/{ticket.reference}/reassignments",
    ):
        body = {"file_version": "x", "comment": "", **NEW_HOLDER}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 404, url
    assert client.get("/api/v1/reassignments").json() == []
    assert f"reattributions/{pk}/" not in client.get("/backoffice/reattributions/").content.decode()


# --- Fixed query counts whatever the number pending -------------------------------------------


def _siret(i: int) -> str:
    siren = f"{40_000_000 + i:08d}"
    siren += luhn.calc_check_digit(siren)
    partial = siren + "0001"
    return partial + luhn.calc_check_digit(partial)


def _pending(n: int, agent, start: int = 0) -> list[AccountReassignment]:
    """``n`` reassignments awaiting approval, each on its own establishment, with its
    ticket, a passed verification and a document (what the approval page reads)."""
    made = []
    for i in range(start, start + n):
        siret = _siret(i)
        account = ExtranetAccountFactory(establishment=EstablishmentFactory(siret=siret))
        ticket = TicketFactory(siret=siret, email=f"demandeur{i}@gmail.com")
        record_siret_verification(ticket, actor=agent)
        made.append(
            AccountReassignment.objects.create(
                ticket=ticket,
                account=account,
                **NEW_HOLDER,
                previous_holder_email="a@b.fr",
                previous_holder_name="A B",
                prepared_by=agent,
                prepared_at=timezone.now(),
                siret=siret,
                siren=siret[:9],
                requester_email=f"demandeur{i}@gmail.com",
                requester_email_domain="gmail.com",
                requester_phone=f"+3361000{i:04d}",
            )  # fmt: skip
        )
    return made


def _queries(client, url: str) -> int:
    client.get(url)  # warm the per-user caches (queue counts)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["list", "approval", "api_list", "api_file"])
def test_the_pending_list_and_approval_page_run_a_fixed_number_of_queries(
    agent, supervisor, page, django_assert_num_queries
):
    client = Client()
    otp_login(client, supervisor)
    few = _pending(3, agent)
    url_of = {
        "list": lambda r: "/backoffice/reattributions/",
        "approval": lambda r: f"/backoffice/reattributions/{r.pk}/",
        "api_list": lambda r: "/api/v1/reassignments",
        "api_file": lambda r: f"/api/v1/reassignments/{r.pk}",
    }[page]
    small = _queries(client, url_of(few[0]))
    many = _pending(30, agent, start=3)
    ticket_note_add(ticket=many[-1].ticket, actor=agent, body="Une note de plus.")
    large = _queries(client, url_of(many[-1]))
    assert small == large
    # The numbers themselves, held by django_assert_num_queries: any new query on these
    # pages must be a decision, made here.
    # (One less than before the second factor was checked once per session; one less
    # again for the pages since the supervisors' badge is kept by a memo.)
    expected = {"list": 6, "approval": 10, "api_list": 3, "api_file": 9}[page]
    with django_assert_num_queries(expected):
        client.get(url_of(many[-1]))


def test_the_supervisors_dashboard_counts_each_signal(ticket, agent, supervisor, client):
    prepare(ticket, agent, new_holder_email="claire@gmail.com")
    otp_login(client, supervisor)
    html = client.get("/backoffice/tableau-de-bord/").content.decode()
    table = html[html.index('data-testid="dashboard-signals"') :]
    table = table[: table.index("</table>")]
    row = table[table.index("Messagerie gratuite") :]
    assert "<td>1</td>" in row[: row.index("</tr>")]
    row = table[table.index("Établissement récent") :]
    assert "<td>0</td>" in row[: row.index("</tr>")]


def test_the_menu_counts_what_awaits_this_supervisors_approval(
    ticket, agent, supervisor, other_supervisor, client, django_capture_on_commit_callbacks
):
    reassignment = prepare(ticket, agent, **_two_signals(ticket)).reassignment
    otp_login(client, supervisor)

    def badge() -> str:
        html = client.get("/backoffice/reattributions/").content.decode()
        start = html.index('data-testid="nav-reassignments-awaiting">') + len(
            'data-testid="nav-reassignments-awaiting">'
        )
        return html[start : html.index("<", start)]

    assert badge() == "1"
    assert badge() == "1"  # kept by the memo
    with django_capture_on_commit_callbacks(execute=True):
        approve(reassignment, supervisor)  # the first of two approvals
    assert badge() == "0"  # nothing left for this supervisor
    otp_login(client, other_supervisor)
    assert badge() == "1"  # the second approval is theirs to give


def test_the_ticket_timeline_says_why_a_step_was_refused(ticket, agent, client):
    close_in_registry(ticket.siret)
    with pytest.raises(ReassignmentRefused):
        prepare(ticket, agent)
    otp_login(client, agent)
    html = client.get(f"/backoffice/tickets/{ticket.pk}/").content.decode()
    assert "Réattribution du compte : signalée — L&#x27;établissement est désormais fermé" in html


def test_a_document_arriving_after_the_page_was_read_makes_the_approval_stale(
    ticket, agent, supervisor
):
    from tests.support.documents import attach

    reassignment = prepare(ticket, agent).reassignment
    version = reassignment_file_version(reassignment_id=reassignment.pk)
    attach(ticket, name="mandat.pdf", render=False)
    with pytest.raises(ReassignmentRefused, match="dossier a changé"):
        reassignment_approve(reassignment=reassignment, actor=supervisor, file_version=version)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED


def test_the_api_pages_through_the_pending_reassignments(agent, supervisor, client):
    made = _pending(27, agent)
    otp_login(client, supervisor)
    first = client.get("/api/v1/reassignments").json()
    assert [r["id"] for r in first] == [r.pk for r in made[:25]]
    rest = client.get(f"/api/v1/reassignments?after={first[-1]['id']}").json()
    assert [r["id"] for r in rest] == [r.pk for r in made[25:]]
    assert client.get("/api/v1/reassignments?after=999999").json() == []
