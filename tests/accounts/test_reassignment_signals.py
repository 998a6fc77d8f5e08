"""Case 2.1's risk signals (accounts/extranet/risk.py), each firing and not firing, on
hand-built reassignments: the pattern across requests is what gives a fraud away."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from stdnum import luhn

from accounts.extranet.models import AccountReassignment, ReassignmentState
from accounts.extranet.risk import SIGNAL_CODES, contact_values, signals_of, with_risk_signals
from tests.factories import EstablishmentFactory, ExtranetAccountFactory, TicketFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 6, 1, 10, 0))
SIRET_A = "73282932000074"
SIRET_B = "52601815500014"  # another company (SIREN)


def sibling_siret(siret: str, nic: str = "0002") -> str:
    """Another establishment of the same company: same SIREN, another NIC."""
    partial = siret[:9] + nic
    return partial + luhn.calc_check_digit(partial)


def make(
    siret: str,
    *,
    at: datetime = NOW,
    email: str = "claire.dupont@boulangerie-marche.fr",
    phone: str = "+33102030405",
    new_holder_email: str | None = None,
    establishment_email: str = "contact@boulangerie-marche.fr",
    state: str = ReassignmentState.APPLIED,
    **fields,
) -> AccountReassignment:
    establishment = EstablishmentFactory(siret=siret, email=establishment_email)
    account = ExtranetAccountFactory(establishment=establishment)
    ticket = TicketFactory(siret=siret, email=email, phone=phone)
    return AccountReassignment.objects.create(
        ticket=ticket,
        account=account,
        state=state,
        new_holder_last_name="Dupont",
        new_holder_first_name="Claire",
        new_holder_email=new_holder_email or email,
        new_holder_phone=phone,
        evidence_notes="Kbis vérifié.",
        previous_holder_email="ancien@boulangerie-marche.fr",
        previous_holder_name="Ancien Titulaire",
        prepared_by=ticket.queue.members.first() or _user(),
        prepared_at=at,
        siret=siret,
        siren=siret[:9],
        **contact_values(email=email, phone=phone),
        **fields,
    )


def _user():
    from tests.factories import UserFactory

    return UserFactory()


def fired(reassignment: AccountReassignment) -> set[str]:
    row = with_risk_signals(AccountReassignment.objects.filter(pk=reassignment.pk)).get()
    return {s.code for s in signals_of(row)}


def test_a_lone_ordinary_request_fires_nothing():
    assert fired(make(SIRET_A, state=ReassignmentState.PREPARED)) == set()


# --- The same contact on several unrelated companies ---------------------------------------


def test_the_same_requester_email_on_another_company_within_90_days():
    make(SIRET_B, at=NOW - timedelta(days=60), email="gestion.paie@gmail.com", phone="+33600000001")
    target = make(SIRET_A, email="gestion.paie@gmail.com", state=ReassignmentState.PREPARED)
    assert "same_email" in fired(target)


def test_the_same_requester_email_does_not_fire_beyond_90_days_or_on_the_same_company():
    make(SIRET_B, at=NOW - timedelta(days=95), email="gestion.paie@gmail.com", phone="+336001")
    make(sibling_siret(SIRET_A), at=NOW - timedelta(days=10), email="gestion.paie@gmail.com",
         phone="+336002")  # fmt: skip
    target = make(SIRET_A, email="gestion.paie@gmail.com", phone="+336003",
                  state=ReassignmentState.PREPARED)  # fmt: skip
    assert "same_email" not in fired(target)


def test_the_same_phone_on_another_company_fires_and_another_phone_does_not():
    make(SIRET_B, at=NOW - timedelta(days=5), email="a@societe-b.fr", phone="+33612345678")
    target = make(SIRET_A, email="b@societe-a.fr", phone="06 12 34 56 78".replace(" ", ""),
                  state=ReassignmentState.PREPARED)  # fmt: skip
    assert "same_phone" not in fired(target)  # "0612345678" is not "+33612345678"
    target.requester_phone = "+33612345678"
    target.save(update_fields=["requester_phone"])
    assert "same_phone" in fired(target)


def test_the_same_company_domain_on_another_company_fires_but_a_webmail_domain_does_not():
    make(SIRET_B, at=NOW - timedelta(days=20), email="paul@cabinet-conseil.fr", phone="+336101")
    target = make(SIRET_A, email="lea@cabinet-conseil.fr", phone="+336102",
                  state=ReassignmentState.PREPARED)  # fmt: skip
    assert "same_domain" in fired(target)

    make(SIRET_B, at=NOW - timedelta(days=20), email="jean@gmail.com", phone="+336103",
         state=ReassignmentState.REJECTED)  # fmt: skip
    other = make(sibling_siret(SIRET_A, "0003"), email="marie@gmail.com", phone="+336104",
                 state=ReassignmentState.PREPARED)  # fmt: skip
    assert "same_domain" not in fired(other)


# --- A webmail holder on a company with its own domain --------------------------------------


def test_a_webmail_new_holder_while_the_establishment_has_its_own_domain():
    target = make(SIRET_A, new_holder_email="boulangerie.marche@gmail.com",
                  establishment_email="contact@boulangerie-marche.fr",
                  state=ReassignmentState.PREPARED)  # fmt: skip
    assert "webmail" in fired(target)


def test_no_webmail_signal_when_the_establishment_is_at_a_webmail_too_or_the_holder_is_not():
    both = make(SIRET_A, new_holder_email="boulangerie.marche@gmail.com",
                establishment_email="boulangerie.marche@orange.fr",
                state=ReassignmentState.PREPARED)  # fmt: skip
    assert "webmail" not in fired(both)
    company = make(SIRET_B, new_holder_email="claire@boulangerie-marche.fr",
                   state=ReassignmentState.PREPARED)  # fmt: skip
    assert "webmail" not in fired(company)


def test_the_webmail_list_is_a_setting(settings):
    target = make(SIRET_A, new_holder_email="claire@mailo.com", state=ReassignmentState.PREPARED)
    assert "webmail" not in fired(target)
    settings.REASSIGNMENT_WEBMAIL_DOMAINS = ("mailo.com",)
    assert "webmail" in fired(target)


# --- Several requests on one company ---------------------------------------------------------


def test_another_reassignment_on_the_same_siren_within_90_days():
    make(sibling_siret(SIRET_A), at=NOW - timedelta(days=30), email="x@autre.fr", phone="+3361")
    target = make(SIRET_A, state=ReassignmentState.PREPARED)
    assert "same_siren" in fired(target)


def test_no_same_siren_signal_beyond_90_days_or_on_another_siren():
    make(sibling_siret(SIRET_A), at=NOW - timedelta(days=91), email="x@autre.fr", phone="+3361")
    make(SIRET_B, at=NOW - timedelta(days=3), email="y@autre.fr", phone="+3362")
    target = make(SIRET_A, state=ReassignmentState.PREPARED)
    assert "same_siren" not in fired(target)


# --- The establishment's e-mail changed just before ------------------------------------------


def test_the_establishment_email_changed_within_30_days_before_the_request():
    target = make(SIRET_A, state=ReassignmentState.PREPARED)
    establishment = target.account.establishment
    establishment.email_changed_at = NOW - timedelta(days=12)
    establishment.save(update_fields=["email_changed_at"])
    assert "email_changed" in fired(target)
    establishment.email_changed_at = NOW - timedelta(days=45)
    establishment.save(update_fields=["email_changed_at"])
    assert "email_changed" not in fired(target)


def test_saving_a_new_email_stamps_when_it_changed():
    establishment = EstablishmentFactory(siret=SIRET_A, email="contact@boulangerie-marche.fr")
    assert establishment.email_changed_at is None
    establishment.refresh_from_db()
    establishment.denomination = "Boulangerie du Marché"
    establishment.save()
    assert establishment.email_changed_at is None
    establishment.email = "boulangerie.marche@gmail.com"
    establishment.save(update_fields=["email"])
    establishment.refresh_from_db()
    assert establishment.email_changed_at is not None


# --- A request soon after the establishment's creation ----------------------------------------


def test_a_request_within_n_days_of_the_registry_creation(settings):
    settings.REASSIGNMENT_NEW_ESTABLISHMENT_DAYS = 90
    young = make(SIRET_A, registry_started_at=NOW - timedelta(days=40),
                 state=ReassignmentState.PREPARED)  # fmt: skip
    assert "new_establishment" in fired(young)
    old = make(SIRET_B, registry_started_at=NOW - timedelta(days=400),
               state=ReassignmentState.PREPARED)  # fmt: skip
    assert "new_establishment" not in fired(old)
    unknown = make(sibling_siret(SIRET_B, "0004"), registry_started_at=None,
                   state=ReassignmentState.PREPARED)  # fmt: skip
    assert "new_establishment" not in fired(unknown)


def test_every_signal_has_a_french_explanation():
    from accounts.extranet.risk import SIGNALS

    assert {s.code for s in SIGNALS} == set(SIGNAL_CODES)
    for s in SIGNALS:
        assert len(str(s.explanation)) > 40 and str(s.label)
