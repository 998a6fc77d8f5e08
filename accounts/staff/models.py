"""The ASP's back-office staff: agents, supervisors and admins (``AUTH_USER_MODEL``), and the
secrets issued to clients (API keys for the extranet, personal tokens for agents' scripts).

The bottom layer of the accounts app: imports nothing of the project's other apps. A staff
``User`` is never an extranet account (see ``accounts.extranet.models``), and the reverse.
"""

from __future__ import annotations

import hashlib
import hmac

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from worker.audit import AppendOnlyModel


def secret_digest(raw: str) -> str:
    """What we store of a secret we issue (API key, personal token, recovery link): its
    SHA-256. No salt or slow hash is needed: each secret is ≥ 128 random bits, so there is
    nothing to brute-force, and the digest can be looked up directly."""
    return hashlib.sha256(raw.encode()).hexdigest()


def secret_matches(stored_digest: str, raw: str) -> bool:
    """Constant-time comparison of a stored digest with a presented secret."""
    return hmac.compare_digest(stored_digest, secret_digest(raw))


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Superviseur")
    ADMIN = "admin", _("Administrateur")


class StaffUserManager(UserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.AGENT)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of the ASP support team. Logs in with its e-mail address."""

    email = models.EmailField(_("adresse électronique"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(_("actif"), default=True)
    date_joined = models.DateTimeField(_("arrivé le"), default=timezone.now)

    objects = StaffUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def is_staff(self) -> bool:
        # Only admins reach the Django admin; agents and supervisors use the back-office.
        return self.is_active and self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


class ApiKey(models.Model):
    """A key that a client system (the extranet) presents in ``X-API-Key``.

    The key is shown once, at creation; only its SHA-256 digest is stored. A digest without
    a salt is enough here: the key is 256 random bits, so there is nothing to brute-force.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(_("nom"), max_length=100, unique=True)
    prefix = models.CharField(_("préfixe"), max_length=PREFIX_LENGTH, unique=True)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("clé d'API")
        verbose_name_plural = _("clés d'API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    digest = staticmethod(secret_digest)

    def matches(self, raw_key: str) -> bool:
        return secret_matches(self.key_hash, raw_key)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PersonalToken(models.Model):
    """A personal token an agent creates in the back-office to call the agent API from a
    script (``Authorization: Bearer <token>``).

    Shown once; only its SHA-256 digest is stored (256 random bits: nothing to brute-force).
    A token acts as its user, with the user's role and queues, and only while that user is
    active and has a confirmed second factor.
    """

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="personal_tokens",
        verbose_name=_("agent"),
    )
    name = models.CharField(_("nom"), max_length=100)
    prefix = models.CharField(_("préfixe"), max_length=PREFIX_LENGTH, unique=True)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton personnel")
        verbose_name_plural = _("jetons personnels")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    digest = staticmethod(secret_digest)

    def matches(self, raw_token: str) -> bool:
        return secret_matches(self.token_hash, raw_token)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StaffChangeKind(models.TextChoices):
    ACCOUNT_CREATED = "account_created", _("Compte créé")
    ROLE_CHANGED = "role_changed", _("Rôle ou statut modifié")


class StaffChange(AppendOnlyModel):
    """Who gave which role to whom, when, from where: every creation of a staff account and
    every change of its role, superuser flag or active flag, whatever made it (the admin,
    a service, a shell), written by the model's signals (``accounts.staff.receivers``) in
    the transaction of the change. Append-only."""

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("compte"),
    )
    # Kept as it was: the history stays readable if the account goes.
    user_email = models.EmailField(_("adresse du compte"))
    kind = models.CharField(_("type"), max_length=30, choices=StaffChangeKind.choices)
    # {"role": [before, after], "is_superuser": [...], "is_active": [...]}; before is None
    # for a creation.
    data = models.JSONField(_("avant / après"), default=dict)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    # The request's actor (``user:12``) or, outside a request, "hors requête".
    actor_ref = models.CharField(_("origine"), max_length=100)
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("modification d'un compte agent")
        verbose_name_plural = _("modifications des comptes agents")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_email} {self.kind}"


class StaffEnrolmentLink(models.Model):
    """A one-time link that lets a staff member enrol the second factor (TOTP): sent to
    the account's own address, so the password alone is not enough to add a device.

    The raw token exists only in the e-mail: the worker draws it when it sends the message
    and stores its SHA-256 here. Usable once, until ``expires_at``; a newer link revokes
    the older ones."""

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="enrolment_links",
        verbose_name=_("compte"),
    )
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien d'enrôlement du second facteur")
        verbose_name_plural = _("liens d'enrôlement du second facteur")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["token_hash"], name="staff_enrolment_token_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"
