from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.extranet.models import ExtranetAccount
from accounts.staff.models import Role, User
from establishments.models import Establishment, RegistryEstablishment
from tickets.models import Motif, Queue, Source, Status, Ticket

EXTRANET_TEST_PASSWORD = "Un-Mot-de-passe-solide-2026"
# Every staff user the factories make has this password.
STAFF_TEST_PASSWORD = "Mot-de-passe-de-test-2026"

# Valid SIRETs (Luhn on SIREN and SIRET), generated once.
VALID_SIRETS = [
    "73282932000074",
    "52601815500014",
    "90830166600016",
    "13186091800013",
    "39099603100014",
    "08246281300013",
    "94821993600010",
    "51819093900018",
    "78657975500012",
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@asp.example")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.AGENT
    password = factory.django.Password(STAFF_TEST_PASSWORD)

    class Params:
        supervisor = factory.Trait(role=Role.SUPERVISOR)
        admin = factory.Trait(role=Role.ADMIN, is_superuser=True)

    @factory.post_generation
    def queues(self, create, extracted, **kwargs):
        if create and extracted:
            for queue in extracted:
                queue.members.add(self)


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment
        django_get_or_create = ["siret"]

    siret = factory.Iterator(VALID_SIRETS)
    denomination = factory.Faker("company", locale="fr_FR")
    street_name = "1 rue de la Paix"
    postal_code = "75002"
    city = "Paris"
    email = factory.LazyAttribute(lambda o: f"contact@{o.siret}.exemple.fr")


class RegistryEstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegistryEstablishment
        django_get_or_create = ["siret"]

    siret = factory.Iterator(VALID_SIRETS)
    siren = factory.LazyAttribute(lambda o: o.siret[:9])
    administrative_status = "A"
    denomination = factory.Faker("company", locale="fr_FR")

    class Params:
        closed = factory.Trait(administrative_status="F")


class ExtranetAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExtranetAccount

    identifiant = factory.Sequence(lambda n: f"APTEST{n:04d}")
    establishment = factory.SubFactory(EstablishmentFactory)
    holder_first_name = "Ancien"
    holder_last_name = "Gestionnaire"
    holder_email = factory.Sequence(lambda n: f"holder{n}@exemple.fr")
    password = factory.LazyFunction(lambda: make_password(None))

    class Params:
        # A holder who activated the account with EXTRANET_TEST_PASSWORD.
        with_password = factory.Trait(
            password=factory.LazyFunction(lambda: make_password(EXTRANET_TEST_PASSWORD))
        )


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    reference = factory.Sequence(lambda n: f"AP-2026-{900000 + n:06d}")
    siret = factory.Iterator(VALID_SIRETS)
    denomination = "Boulangerie du Marché"
    requester_name = "Claire Dupont"
    phone = "+33102030405"
    email = factory.Sequence(lambda n: f"demandeur{n}@exemple.fr")
    motif = Motif.HABILITATION_EXTRANET
    description = "Je n'ai plus accès au compte."
    source = Source.FORM
    queue = factory.LazyFunction(lambda: Queue.objects.get(slug="habilitation"))
    status = Status.NOUVEAU
    created_at = factory.LazyFunction(timezone.now)


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed TOTP second factor (django-otp)."""

    class Meta:
        model = "otp_totp.TOTPDevice"

    user = factory.SubFactory(UserFactory)
    name = "Application de test"
    confirmed = True
