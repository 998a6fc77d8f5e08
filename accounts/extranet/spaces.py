""" "Créer mon espace" (S2–S4): is the establishment known, and case 1, the creation of an
establishment and its principal extranet account."""

from __future__ import annotations

import logging
import secrets
import unicodedata

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from establishments.models import Establishment, RegistryEstablishment

from .exceptions import EstablishmentAlreadyKnown
from .links import recovery_link_create
from .models import ExtranetAccount, LinkPurpose

logger = logging.getLogger(__name__)

# Identifiants are never e-mail addresses (S1: "Ne pas saisir d'adresse de messagerie"):
# letters and digits without the ones people confuse (0/O, 1/I/L).
IDENTIFIANT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def extranet_identifiant_generate() -> str:
    while True:
        candidate = "AP" + "".join(secrets.choice(IDENTIFIANT_ALPHABET) for _ in range(8))
        if not ExtranetAccount.objects.filter(identifiant=candidate).exists():
            return candidate


def normalize_secret_answer(answer: str) -> str:
    """Case, accents and spacing do not matter in the answer to the secret question."""
    decomposed = unicodedata.normalize("NFKD", answer or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def establishment_is_known(*, siret: str) -> bool:
    return Establishment.objects.filter(siret=siret).exists()


def extranet_space_create(
    *,
    siret: str,
    establishment: dict,
    holder: dict,
    secret_question: str,
    secret_answer: str,
    requested_ip_hash: str = "",
) -> ExtranetAccount:
    """Case 1 (S3): create the establishment and its principal account, and e-mail the
    identifiant with an activation link. The account has no usable password until the
    holder chooses one through that link.

    Raises ``EstablishmentAlreadyKnown`` when the establishment exists (case 2), also when
    a twin request created it a moment earlier.
    """
    registry = RegistryEstablishment.objects.filter(siret=siret).first()
    try:
        with transaction.atomic():
            if establishment_is_known(siret=siret):
                raise EstablishmentAlreadyKnown(_("Cet établissement dispose déjà d'un compte."))
            record = Establishment.objects.create(
                siret=siret,
                registry_status=registry.administrative_status if registry else "",
                **establishment,
            )
            account = ExtranetAccount(
                identifiant=extranet_identifiant_generate(),
                establishment=record,
                holder_last_name=holder["last_name"],
                holder_first_name=holder["first_name"],
                holder_phone=holder["phone"],
                holder_email=holder["email"],
                secret_question=secret_question,
                secret_answer_hash=make_password(normalize_secret_answer(secret_answer)),
            )
            account.set_unusable_password()
            account.save()
            recovery_link_create(
                account=account,
                purpose=LinkPurpose.ACTIVATION,
                template="extranet_account_created",
                context={"denomination": record.denomination, "siret": record.siret},
                requested_ip_hash=requested_ip_hash,
            )
    except IntegrityError as exc:
        # The SIRET's unique constraint: a simultaneous creation won.
        raise EstablishmentAlreadyKnown(_("Cet établissement dispose déjà d'un compte.")) from exc
    logger.info("Extranet space created for establishment %s.", record.pk)
    return account
