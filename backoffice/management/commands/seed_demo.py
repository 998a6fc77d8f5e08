"""Demo data for `make run`: idempotent, so it can run at every start."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.extranet.models import ExtranetAccount
from accounts.extranet.spaces import extranet_identifiant_generate
from accounts.staff.models import ApiKey, Role, User
from accounts.staff.services import api_key_create, totp_device_set_demo
from backoffice.savedviews.models import SavedView
from backoffice.savedviews.services import saved_view_create, saved_view_share
from establishments.models import Establishment, RegistryEstablishment
from establishments.services import registry_import, sirene_file_open
from establishments.towns import postal_code_towns_rebuild
from tickets.forms import AssistanceRequestForm
from tickets.models import CannedReply, Motif, Queue, SiretVerdict, Source, Status, Ticket
from tickets.services import (
    assistance_request_submit,
    canned_reply_create,
    ticket_change_status,
)
from tickets.verification import ticket_siret_verify

# Demo only: these logins are printed by `make run` and must never exist in production.
DEMO_PASSWORD = "Demo-ActivitePartielle-2026"
DEMO_USERS = [
    ("agent@demo.asp.fr", "Alice", "Agent", Role.AGENT, ["habilitation", "general"]),
    ("agent2@demo.asp.fr", "Bruno", "Second", Role.AGENT, ["habilitation", "indemnisation"]),
    ("superviseur@demo.asp.fr", "Sophie", "Superviseure", Role.SUPERVISOR, []),
    ("admin@demo.asp.fr", "Adam", "Admin", Role.ADMIN, []),
]
# The demo extranet accounts' password (the previous holders of case 2.1).
DEMO_EXTRANET_PASSWORD = "Demo-Extranet-Ancien-2026"
# A demo Habilitation ticket whose SIRET verification is recorded as passed, so case 2.1
# can be prepared at once in `make run` (the SIRET verification module records real ones).
DEMO_VERIFIED_SIRET = "52601815500014"
DEMO_API_KEY_NAME = "extranet-demo"
# The demo accounts' previous holders: only these have the published demo password.
DEMO_HOLDER_EMAIL = "ancien.gestionnaire@{siret}.exemple.fr"

# The source's incident banner (S9), scheduled at each start to go live a minute later:
# a newcomer sees it scheduled in the back-office, then published by beat's sweep.
DEMO_NOTICE_TITLE = "Information"
DEMO_NOTICE_TEXT = (
    "Un incident technique s'est produit sur l'extranet activité partielle hier. Celui-ci a "
    "pu entraîner, par erreur, un rejet de votre demande d'indemnisation. Les opérations de "
    "correction sont en cours et l'ensemble des demandes concernées seront régularisées dans "
    "la journée de manière à ce que le versement de l'indemnisation soit assuré."
)
DEMO_NOTICE_DELAY = timedelta(minutes=1)
DEMO_NOTICE_DURATION = timedelta(days=7)


def demo_totp_key(email: str) -> str:
    """The fixed TOTP secret (hex, 20 bytes) of a demo user: published on purpose, so the
    demo can be logged into with ``manage.py demo_totp EMAIL`` or any authenticator app."""
    return hashlib.sha1(f"apsupport-demo-totp:{email}".encode()).hexdigest()


# (owner, name, the list's parameters, shared with the Habilitation queue)
DEMO_SAVED_VIEWS = [
    (
        "agent@demo.asp.fr",
        "Habilitation en cours, urgentes d'abord",
        "status=nouveau&status=en_cours&motif=habilitation_extranet&sort=-priority",
        False,
    ),
    (
        "superviseur@demo.asp.fr",
        "Nouveaux non assignés",
        "status=nouveau&assignee=none&sort=created_at",
        True,
    ),
]

DEMO_API_KEY = "demo0000.extranet-demo-key-not-for-production"

# The reference registry of the demo: a small extract in INSEE's StockEtablissement layout,
# loaded through the same service as ``manage.py import_sirene`` (it has the SIRETs below,
# closed establishments, La Poste's head office and a few malformed rows, which are rejected).
SIRENE_SAMPLE = Path(settings.BASE_DIR) / "establishments" / "fixtures" / "sirene_sample.csv"

# (siret, dénomination, état, voie, code postal, ville, known to the extranet)
DEMO_ESTABLISHMENTS = [
    ("73282932000074", "Boulangerie du Marché", "A", "12 rue du Marché", "75011", "Paris", True),
    (
        "52601815500014",
        "Transports Martin SARL",
        "A",
        "4 avenue Jean Jaurès",
        "69007",
        "Lyon",
        True,
    ),
    (
        "90830166600016",
        "Atelier Bois & Design",
        "A",
        "8 chemin des Vignes",
        "33000",
        "Bordeaux",
        False,
    ),
    ("13186091800013", "Hôtel des Remparts", "F", "1 place d'Armes", "35400", "Saint-Malo", True),
    (
        "39099603100014",
        "Pharmacie Centrale",
        "A",
        "27 rue Sadi Carnot",
        "97400",
        "Saint-Denis",
        False,
    ),
    (
        "35600000000048",
        "La Poste — Siège",
        "A",
        "9 rue du Colonel Pierre Avia",
        "75015",
        "Paris",
        False,
    ),
]

DEMO_TICKETS = [
    # (siret, motif, name, email, phone, final status, description)
    (
        "73282932000074",
        Motif.HABILITATION_EXTRANET,
        "Claire Dupont",
        "claire.dupont@exemple.fr",
        "01 02 03 04 05",
        Status.NOUVEAU,
        "Notre ancienne gestionnaire a quitté l'entreprise et nous n'avons plus accès à la boîte "
        "mail déclarée. Merci de réattribuer le compte.",
    ),
    (
        "52601815500014",
        Motif.HABILITATION_EXTRANET,
        "Marc Martin",
        "marc.martin@exemple.fr",
        "06 12 34 56 78",
        Status.EN_COURS,
        "Je n'ai jamais reçu le lien de réinitialisation du mot de passe.",
    ),
    (
        "13186091800013",
        Motif.DEMANDE_INDEMNISATION,
        "Julie Bernard",
        "julie.bernard@exemple.fr",
        "02 99 11 22 33",
        Status.EN_ATTENTE,
        "Ma demande d'indemnisation de mars a été rejetée après l'incident.",
    ),
    (
        "90830166600016",
        Motif.FICHE_ETABLISSEMENT,
        "Paul Lefèvre",
        "paul.lefevre@exemple.fr",
        "05 56 00 11 22",
        Status.RESOLU,
        "Je souhaite modifier l'adresse de l'établissement.",
    ),
    (
        "39099603100014",
        Motif.CERTIFICAT_SIGNATURE,
        "Nadia Hoarau",
        "nadia.hoarau@exemple.fr",
        "0262 12 34 56",
        Status.CLOS,
        "Mon certificat de signature a expiré.",
    ),
    (
        "73282932000074",
        Motif.AUTRES,
        "Claire Dupont",
        "claire.dupont@exemple.fr",
        "01 02 03 04 05",
        Status.NOUVEAU,
        "Où trouver le simulateur d'indemnisation ?",
    ),
    (
        "52601815500014",
        Motif.DECISION_AUTORISATION,
        "Marc Martin",
        "marc.martin@exemple.fr",
        "06 12 34 56 78",
        Status.NOUVEAU,
        "Je n'ai pas reçu la décision d'autorisation.",
    ),
]

# The demo's canned replies ("réponses types") of the Habilitation queue: the four answers
# most Habilitation requests get. (title, motif, body)
DEMO_CANNED_REPLIES = [
    (
        "Mot de passe oublié",
        Motif.HABILITATION_EXTRANET,
        "Bonjour {demandeur},\n\n"
        "Nous avons bien reçu votre demande {reference} concernant l'accès de l'établissement "
        "{denomination} à l'extranet activité partielle.\n\n"
        "Pour choisir un nouveau mot de passe, utilisez « J'ai oublié mon mot de passe » sur la "
        "page d'accueil de l'extranet et saisissez votre identifiant (jamais votre adresse de "
        "messagerie). Un lien de réinitialisation est envoyé à l'adresse électronique du "
        "compte ; pensez à vérifier vos courriers indésirables.\n\n"
        "Si cette adresse n'est plus la vôtre, dites-le-nous depuis votre espace de suivi : "
        "{lien_de_suivi}",
    ),
    (
        "Identifiant oublié",
        Motif.HABILITATION_EXTRANET,
        "Bonjour {demandeur},\n\n"
        "Votre identifiant de l'extranet activité partielle figure dans le courriel reçu à la "
        "création du compte de {denomination}. Pour le recevoir à nouveau, utilisez « J'ai "
        "oublié mon identifiant » sur la page d'accueil de l'extranet et saisissez le SIRET de "
        "l'établissement : il est envoyé à l'adresse électronique du compte.\n\n"
        "Nous restons disponibles pour la suite de votre demande {reference}.",
    ),
    (
        "Réattribution : pièces à fournir",
        Motif.HABILITATION_EXTRANET,
        "Bonjour {demandeur},\n\n"
        "Le compte extranet de {denomination} est rattaché à son titulaire actuel. Pour le "
        "réattribuer à une autre personne, nous avons besoin des pièces suivantes :\n"
        "- un extrait Kbis de moins de trois mois ;\n"
        "- le mandat du représentant légal désignant le nouvel utilisateur ;\n"
        "- la pièce d'identité du nouvel utilisateur.\n\n"
        "Déposez-les (PDF, JPEG ou PNG) depuis votre espace de suivi : {lien_de_suivi}\n\n"
        "Votre demande {reference} reste en attente de ces documents.",
    ),
    (
        "Réattribution effectuée",
        Motif.HABILITATION_EXTRANET,
        "Bonjour {demandeur},\n\n"
        "La réattribution du compte extranet de {denomination} est effectuée. Le nouvel "
        "utilisateur a reçu par courriel son identifiant et un lien pour activer le compte et "
        "choisir son mot de passe. L'ancien titulaire a été informé du changement.\n\n"
        "Nous clôturons votre demande {reference}. Si besoin, vous pouvez encore nous écrire "
        "depuis votre espace de suivi : {lien_de_suivi}",
    ),
]

PATHS = {
    Status.NOUVEAU: [],
    Status.EN_COURS: [Status.EN_COURS],
    Status.EN_ATTENTE: [Status.EN_COURS, Status.EN_ATTENTE],
    Status.RESOLU: [Status.EN_COURS, Status.RESOLU],
    Status.CLOS: [Status.EN_COURS, Status.RESOLU, Status.CLOS],
}


class Command(BaseCommand):
    help = "Create the demo data (users, API key, establishments, tickets). Idempotent."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo crée des comptes publiés : refusé en production.")
        with transaction.atomic():
            users = self._users()
            self._api_key()
            self._establishments()
            self._tickets(users)
            self._saved_views(users)
            self._extranet_passwords()
            self._verified_habilitation_ticket(users)
            self._canned_replies(users)
            notice = self._incident_notice(users)
        self._print_logins()
        self._print_notice(notice)

    def _users(self) -> dict[str, User]:
        users = {}
        for email, first, last, role, queue_slugs in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    role=role,
                    is_superuser=role == Role.ADMIN,
                )
            for queue in Queue.objects.filter(slug__in=queue_slugs):
                queue.members.add(user)
            totp_device_set_demo(user=user, hex_key=demo_totp_key(email))
            users[email] = user
        return users

    def _api_key(self) -> None:
        if not ApiKey.objects.filter(name=DEMO_API_KEY_NAME).exists():
            api_key_create(name=DEMO_API_KEY_NAME, raw_key=DEMO_API_KEY)

    def _establishments(self) -> None:
        with sirene_file_open(SIRENE_SAMPLE) as stream:
            registry_import(stream=stream)
        postal_code_towns_rebuild()
        for siret, name, _status, street, postal_code, city, known in DEMO_ESTABLISHMENTS:
            if not known:
                continue
            establishment, created = Establishment.objects.get_or_create(
                siret=siret,
                defaults={
                    "denomination": name,
                    "street_name": street,
                    "postal_code": postal_code,
                    "city": city,
                    "email": f"contact@{siret}.exemple.fr",
                    "phone": "+33102030405",
                    "registry_status": RegistryEstablishment.objects.get(
                        siret=siret
                    ).administrative_status,
                },
            )
            if created:
                ExtranetAccount.objects.create(
                    identifiant=extranet_identifiant_generate(),
                    establishment=establishment,
                    holder_first_name="Ancien",
                    holder_last_name="Gestionnaire",
                    holder_email=DEMO_HOLDER_EMAIL.format(siret=siret),
                    holder_phone="+33102030406",
                )

    def _tickets(self, users: dict[str, User]) -> None:
        if Ticket.objects.filter(email__endswith="@exemple.fr").exists():
            return
        # The supervisor moves the demo tickets along: it sees every queue.
        actor = users["superviseur@demo.asp.fr"]
        denominations = {row[0]: row[1] for row in DEMO_ESTABLISHMENTS}
        for siret, motif, name, email, phone, status, description in DEMO_TICKETS:
            form = AssistanceRequestForm(
                data={
                    "siret": siret,
                    "denomination": denominations[siret],
                    "requester_name": name,
                    "phone": phone,
                    "email": email,
                    "motif": motif,
                    "description": description,
                }
            )
            if not form.is_valid():  # pragma: no cover - the demo data is fixed
                raise RuntimeError(f"Invalid demo ticket: {form.errors.as_json()}")
            ticket = assistance_request_submit(data=form.cleaned_data, source=Source.FORM).ticket
            for step in PATHS[status]:
                ticket = ticket_change_status(ticket=ticket, actor=actor, new_status=step)

    def _saved_views(self, users: dict[str, User]) -> None:
        """Two saved views (issue 13): Alice's own, and the supervisor's shared with the
        Habilitation queue (Alice and Bruno see it in "Mes vues", read-only)."""
        habilitation = Queue.objects.get(slug="habilitation")
        for email, name, query, shared in DEMO_SAVED_VIEWS:
            owner = users[email]
            if SavedView.objects.filter(owner=owner, name=name).exists():
                continue
            view = saved_view_create(
                owner=owner,
                name=name,
                scope="queue",
                queue=habilitation,
                query=QueryDict(query),
            )
            if shared:
                saved_view_share(view=view, actor=owner, queue=habilitation)

    def _demo_accounts(self):
        """The seeded accounts still held by their demo holder (not reassigned, not
        created by someone trying the demo)."""
        emails = [DEMO_HOLDER_EMAIL.format(siret=row[0]) for row in DEMO_ESTABLISHMENTS if row[6]]
        return ExtranetAccount.objects.filter(holder_email__in=emails)

    def _extranet_passwords(self) -> None:
        # Only the demo holders' accounts never given a password: a holder detached by a
        # reassignment (its password made unusable) stays locked out across restarts, and
        # an account created during the demo waits for its own activation link.
        for account in self._demo_accounts().filter(password=""):
            account.password = make_password(DEMO_EXTRANET_PASSWORD)
            account.save(update_fields=["password"])

    def _verified_habilitation_ticket(self, users: dict[str, User]) -> None:
        ticket = (
            Ticket.objects.filter(siret=DEMO_VERIFIED_SIRET, motif=Motif.HABILITATION_EXTRANET)
            .order_by("created_at")
            .first()
        )
        if ticket is None or ticket.siret_verifications.exists():
            return
        # Through the real service: the registry checks run on the imported sample.
        ticket_siret_verify(
            ticket=ticket,
            actor=users["agent@demo.asp.fr"],
            verdict=SiretVerdict.PASSED,
            comment="Démonstration : SIRET actif au registre, dénomination conforme, "
            "Kbis et pièce d'identité vérifiés.",
        )

    def _canned_replies(self, users: dict[str, User]) -> None:
        queue = Queue.objects.filter(slug="habilitation").first()
        if queue is None:  # pragma: no cover - created by the migrations
            return
        for title, motif, body in DEMO_CANNED_REPLIES:
            if not CannedReply.objects.filter(queue=queue, title=title).exists():
                canned_reply_create(
                    actor=users["superviseur@demo.asp.fr"],
                    queue=queue,
                    motif=motif,
                    title=title,
                    body=body,
                )

    def _incident_notice(self, users: dict[str, User]):
        from backoffice.notices.models import IncidentNotice, NoticeState
        from backoffice.notices.services import notice_create, notice_schedule

        current = (
            IncidentNotice.objects.filter(
                title=DEMO_NOTICE_TITLE,
                text=DEMO_NOTICE_TEXT,
                state__in=[NoticeState.SCHEDULED, NoticeState.PUBLISHED],
            )
            .order_by("-starts_at")
            .first()
        )
        if current is not None:
            return current
        now = timezone.now()
        notice = notice_create(
            actor=users["superviseur@demo.asp.fr"],
            title=DEMO_NOTICE_TITLE,
            text=DEMO_NOTICE_TEXT,
            level="info",
            starts_at=now + DEMO_NOTICE_DELAY,
            ends_at=now + DEMO_NOTICE_DURATION,
        )
        return notice_schedule(notice=notice, actor=users["superviseur@demo.asp.fr"])

    def _print_notice(self, notice) -> None:
        from backoffice.notices.models import NoticeState

        starts = timezone.localtime(notice.starts_at).strftime("%H:%M:%S")
        if notice.state == NoticeState.SCHEDULED:
            state = f"programmé, publié par le worker à {starts} (heure de Paris)"
        else:
            state = "publié"
        self.stdout.write(
            f"Bandeau d'incident de démonstration : {state} — "
            f"{settings.SITE_BASE_URL}/backoffice/bandeaux/{notice.pk}/"
        )

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write("Comptes de démonstration (back-office) :")
        for email, _first, _last, role, _queues in DEMO_USERS:
            self.stdout.write(f"  {Role(role).label:<15} {email:<28} {DEMO_PASSWORD}")
        self.stdout.write(
            "Second facteur (code à 6 chiffres demandé après le mot de passe) : "
            ".venv/bin/python manage.py demo_totp <adresse>"
        )
        self.stdout.write("  ou, dans une application d'authentification, la clé :")
        for email, *_rest in DEMO_USERS:
            secret = base64.b32encode(bytes.fromhex(demo_totp_key(email))).decode()
            self.stdout.write(f"  {email:<28} {secret}")
        self.stdout.write(f"Back-office : {settings.SITE_BASE_URL}/backoffice/")
        self.stdout.write(f"Clé d'API de l'extranet de démonstration : {DEMO_API_KEY}")
        demo = list(self._demo_accounts().select_related("establishment").order_by("pk"))
        if demo:
            self.stdout.write(
                "Comptes extranet de démonstration (identifiant, SIRET), mot de passe "
                f"{DEMO_EXTRANET_PASSWORD} :"
            )
            for account in demo:
                self.stdout.write(f"  {account.identifiant}  {account.establishment.siret}")
        others = (
            ExtranetAccount.objects.exclude(pk__in=[a.pk for a in demo])
            .select_related("establishment")
            .order_by("pk")
        )
        if others:
            self.stdout.write(
                "Comptes extranet créés ou réattribués pendant la démonstration (identifiant, "
                "SIRET, titulaire) : mot de passe choisi par leur titulaire avec le lien "
                "d'activation (var/mail/)"
            )
            for account in others:
                self.stdout.write(
                    f"  {account.identifiant}  {account.establishment.siret}  "
                    f"{account.holder_email}"
                )
