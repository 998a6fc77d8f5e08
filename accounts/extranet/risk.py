"""The risk signals of a reassignment (case 2.1), computed in SQL.

In 2020 the activité partielle fraud used real SIRETs, real addresses and managers' real
names with the fraudsters' own e-mail addresses: what gives it away is the pattern across
requests, rarely one request. Each signal is a boolean annotation on a queryset of
reassignments, so a page of 25 (or the one being approved) gets every signal in the query
that loads it:

- the requester's e-mail, phone or e-mail domain (free webmail domains excepted) on
  reassignments of another SIREN within 90 days: an ``EXISTS`` on the index
  ``(requester_…, prepared_at)``, restricted to the window by index range;
- the new holder's e-mail at a free webmail domain while the establishment's address on
  record is at its own domain: a row expression;
- another reassignment of the same SIREN within 90 days: ``EXISTS`` on
  ``(siren, prepared_at)``;
- the establishment's e-mail on record changed within 30 days before the request;
- the request filed within N days after the establishment's creation in the registry.

The approval re-computes them inside its transaction (``reassignment_signals_live``): a
signal that appeared since the page was read must be acknowledged too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower, StrIndex, Substr
from django.utils.translation import gettext_lazy as _

from .models import AccountReassignment

WINDOW_DAYS = 90


@dataclass(frozen=True)
class RiskSignal:
    code: str
    label: str
    explanation: str


# Declared once: the code (annotation ``sig_<code>``), a short label for the list's badge,
# and the plain French explanation the approver reads and acknowledges.
SIGNALS: tuple[RiskSignal, ...] = (
    RiskSignal(
        "same_email",
        _("Même courriel, autres entreprises"),
        _(
            "Le courriel du demandeur a servi, ces 90 derniers jours, à demander la "
            "réattribution du compte d'une autre entreprise (autre SIREN)."
        ),
    ),
    RiskSignal(
        "same_phone",
        _("Même téléphone, autres entreprises"),
        _(
            "Le téléphone du demandeur a servi, ces 90 derniers jours, à demander la "
            "réattribution du compte d'une autre entreprise (autre SIREN)."
        ),
    ),
    RiskSignal(
        "same_domain",
        _("Même domaine, autres entreprises"),
        _(
            "Le domaine du courriel du demandeur a servi, ces 90 derniers jours, à demander "
            "la réattribution du compte d'une autre entreprise (autre SIREN)."
        ),
    ),
    RiskSignal(
        "webmail",
        _("Messagerie gratuite"),
        _(
            "Le nouveau titulaire utilise une messagerie gratuite alors que le courriel de "
            "l'établissement est à son propre domaine."
        ),
    ),
    RiskSignal(
        "same_siren",
        _("Plusieurs demandes sur l'entreprise"),
        _(
            "Une autre réattribution a été demandée ces 90 derniers jours sur un "
            "établissement de la même entreprise (même SIREN)."
        ),
    ),
    RiskSignal(
        "email_changed",
        _("Courriel de l'établissement modifié"),
        _("Le courriel de l'établissement a été modifié dans les 30 jours précédant la demande."),
    ),
    RiskSignal(
        "new_establishment",
        _("Établissement récent"),
        _("La demande arrive peu de temps après la création de l'établissement au registre."),
    ),
)
SIGNAL_CODES = tuple(s.code for s in SIGNALS)
_BY_CODE = {s.code: s for s in SIGNALS}


def signal(code: str) -> RiskSignal:
    return _BY_CODE[code]


_NOT_PHONE = re.compile(r"[^0-9+]")


def contact_values(*, email: str, phone: str) -> dict[str, str]:
    """The requester's values as stored on a reassignment and compared by the signals."""
    email = (email or "").strip().lower()
    return {
        "requester_email": email,
        "requester_email_domain": email.rpartition("@")[2] if "@" in email else "",
        "requester_phone": _NOT_PHONE.sub("", str(phone or ""))[:20],
    }


def _domain(field: str) -> Lower:
    """The e-mail's domain, in SQL: what follows its "@", lower-cased."""
    return Lower(Substr(field, StrIndex(field, Value("@")) + 1))


def _window(**match) -> QuerySet[AccountReassignment]:
    """Other reassignments within ``WINDOW_DAYS`` of the outer one, by index range."""
    window = timedelta(days=WINDOW_DAYS)
    return AccountReassignment.objects.filter(
        prepared_at__gte=OuterRef("prepared_at") - window,
        prepared_at__lte=OuterRef("prepared_at") + window,
        **match,
    ).exclude(pk=OuterRef("pk"))


def _other_siren(field: str) -> Exists:
    return Exists(_window(**{field: OuterRef(field)}).exclude(siren=OuterRef("siren")))


def _bool(condition: Q) -> Case:
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def with_risk_signals(qs: QuerySet[AccountReassignment]) -> QuerySet[AccountReassignment]:
    """``qs`` with one boolean ``sig_<code>`` per signal and ``sig_repeat`` (another
    reassignment of the same SIRET within 90 days), computed by the database."""
    webmail_domains = [d.lower() for d in settings.REASSIGNMENT_WEBMAIL_DOMAINS]
    email_days = timedelta(days=settings.REASSIGNMENT_EMAIL_CHANGE_DAYS)
    new_days = timedelta(days=settings.REASSIGNMENT_NEW_ESTABLISHMENT_DAYS)
    establishment_email = "account__establishment__email"
    changed_at = "account__establishment__email_changed_at"
    # One IN list per address rather than one LIKE per webmail domain: the ORM compiles
    # this query on every page, and 2 × 26 LIKEs cost it more than the database spends.
    return qs.alias(
        holder_domain=_domain("new_holder_email"),
        establishment_domain=_domain(establishment_email),
    ).annotate(
        sig_same_email=Case(
            When(requester_email="", then=Value(False)),
            default=_other_siren("requester_email"),
            output_field=BooleanField(),
        ),
        sig_same_phone=Case(
            When(requester_phone="", then=Value(False)),
            default=_other_siren("requester_phone"),
            output_field=BooleanField(),
        ),
        sig_same_domain=Case(
            When(
                Q(requester_email_domain="") | Q(requester_email_domain__in=webmail_domains),
                then=Value(False),
            ),
            default=_other_siren("requester_email_domain"),
            output_field=BooleanField(),
        ),
        sig_webmail=_bool(
            Q(holder_domain__in=webmail_domains)
            & Q(**{f"{establishment_email}__contains": "@"})
            & ~Q(establishment_domain__in=webmail_domains)
        ),
        sig_same_siren=Case(
            When(siren="", then=Value(False)),
            default=Exists(_window(siren=OuterRef("siren"))),
            output_field=BooleanField(),
        ),
        sig_email_changed=_bool(
            Q(**{f"{changed_at}__lte": F("prepared_at")})
            & Q(**{f"{changed_at}__gte": F("prepared_at") - email_days})
        ),
        sig_new_establishment=_bool(Q(registry_started_at__gte=F("prepared_at") - new_days)),
        sig_repeat=Case(
            When(siret="", then=Value(False)),
            default=Exists(_window(siret=OuterRef("siret"))),
            output_field=BooleanField(),
        ),
    )


def signals_of(reassignment: AccountReassignment) -> list[RiskSignal]:
    """The signals that fired on an annotated reassignment, in the declared order."""
    return [s for s in SIGNALS if getattr(reassignment, f"sig_{s.code}", False)]


def reassignment_signals_live(*, reassignment_id: int) -> list[RiskSignal]:
    """The signals of one reassignment as the database sees them now: one query."""
    row = reassignments_with_signals().filter(pk=reassignment_id).first()
    return signals_of(row) if row is not None else []


def _settings_key() -> tuple:
    return (
        tuple(settings.REASSIGNMENT_WEBMAIL_DOMAINS),
        settings.REASSIGNMENT_EMAIL_CHANGE_DAYS,
        settings.REASSIGNMENT_NEW_ESTABLISHMENT_DAYS,
    )


@lru_cache(maxsize=4)
def _annotated(key: tuple) -> QuerySet[AccountReassignment]:
    return with_risk_signals(AccountReassignment.objects.all())


def reassignments_with_signals() -> QuerySet[AccountReassignment]:
    """Every reassignment with its signals, to filter further. The annotated queryset is
    built once per settings (building its eight expressions cost the pages more than the
    database spends on them); each call hands out a fresh clone, never evaluated here."""
    return _annotated(_settings_key()).all()
