"""A company's extranet account, its recovery links and the reassignment of the account to
a new holder (case 2.1).

An ``ExtranetAccount`` has its own identifiant and password hash and is never a Django
``User``, so it can never log into the back-office, and a back-office user can never log
into the extranet.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import check_password, is_password_usable, make_password
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class ExtranetAccount(models.Model):
    """The extranet account of one establishment (its "compte principal")."""

    identifiant = models.CharField(_("identifiant"), max_length=20, unique=True)
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.PROTECT,
        related_name="extranet_accounts",
        verbose_name=_("établissement"),
    )
    holder_last_name = models.CharField(_("nom"), max_length=100)
    holder_first_name = models.CharField(_("prénom"), max_length=100)
    holder_phone = PhoneNumberField(_("téléphone"), blank=True)
    holder_email = models.EmailField(_("courriel"))
    secret_question = models.CharField(_("question secrète"), max_length=200, blank=True)
    secret_answer_hash = models.CharField(max_length=128, blank=True, editable=False)
    password = models.CharField(max_length=128, blank=True, editable=False)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    last_login = models.DateTimeField(_("dernière connexion"), null=True, blank=True)
    # Stored in each extranet session and compared on every request: bumping it ends every
    # open session of the account (password change, holder detached).
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    password_changed_at = models.DateTimeField(
        _("mot de passe modifié le"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("compte extranet")
        verbose_name_plural = _("comptes extranet")
        indexes = [models.Index(Lower("holder_email"), name="extranet_holder_email_idx")]

    def __str__(self) -> str:
        return self.identifiant

    @property
    def holder_name(self) -> str:
        return f"{self.holder_first_name} {self.holder_last_name}".strip()

    def set_password(self, raw_password: str | None) -> None:
        """Hash with Django's hashers; ``None`` makes the password unusable."""
        self.password = make_password(raw_password)

    def set_unusable_password(self) -> None:
        self.password = make_password(None)

    def check_password(self, raw_password: str) -> bool:
        return bool(self.password) and check_password(raw_password, self.password)

    def has_usable_password(self) -> bool:
        return bool(self.password) and is_password_usable(self.password)


class LinkPurpose(models.TextChoices):
    ACTIVATION = "activation", _("Activation du compte")
    PASSWORD_RESET = "password_reset", _("Réinitialisation du mot de passe")


class LinkState(models.TextChoices):
    """What agents see for a link (S7). Derived from the timestamps, never stored."""

    PENDING = "pending", _("En attente d'envoi")
    SENT = "sent", _("Envoyé")
    SEND_FAILED = "send_failed", _("Échec d'envoi")
    USED = "used", _("Utilisé")
    EXPIRED = "expired", _("Expiré")
    REVOKED = "revoked", _("Révoqué (remplacé ou annulé)")


def _active_link_q() -> models.Q:
    return models.Q(used_at__isnull=True, revoked_at__isnull=True, expired_recorded_at__isnull=True)


class RecoveryLink(models.Model):
    """An activation or password-reset link sent to an extranet account's holder.

    The link's life, declared once: created (pending) → sent → used, or revoked (a newer
    link of the same purpose, or the holder detached), or expired (``expires_at`` passed:
    checked at use; beat's sweep only records it in ``expired_recorded_at``).

    The raw token exists only in the e-mail: the worker draws it when it sends the message
    and stores its SHA-256 here (``token_hash``). A link whose e-mail is sent again after a
    crash simply gets a fresh token, which voids the first one.
    """

    account = models.ForeignKey(
        ExtranetAccount,
        on_delete=models.CASCADE,
        related_name="recovery_links",
        verbose_name=_("compte extranet"),
    )
    purpose = models.CharField(_("objet"), max_length=20, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("créé le"))
    expires_at = models.DateTimeField(_("expire le"))
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    expired_recorded_at = models.DateTimeField(_("expiration constatée le"), null=True, blank=True)
    # A keyed hash of the requesting IP: enough to group abuse, useless to identify anyone.
    requested_ip_hash = models.CharField(max_length=32, blank=True, default="")
    sent_to = models.EmailField(_("envoyé à"), blank=True)
    email = models.ForeignKey(
        "worker.OutboxJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recovery_links",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lien de récupération")
        verbose_name_plural = _("liens de récupération")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The expiry sweep reads only active links, oldest expiry first.
            models.Index(
                fields=["expires_at"], name="recoverylink_active_idx", condition=_active_link_q()
            ),
            models.Index(
                fields=["account", "purpose", "created_at"], name="recoverylink_account_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~models.Q(token_hash=""),
                name="recoverylink_token_hash_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} #{self.pk}"

    @property
    def state(self) -> str:

        if self.used_at:
            return LinkState.USED
        if self.revoked_at:
            return LinkState.REVOKED
        if self.expired_recorded_at or self.expires_at <= timezone.now():
            return LinkState.EXPIRED
        if self.sent_at:
            return LinkState.SENT
        if self.email_id and getattr(self.email, "status", None) == "failed":
            return LinkState.SEND_FAILED
        return LinkState.PENDING

    @property
    def state_label(self) -> str:
        return LinkState(self.state).label


class RecoveryRequestPurpose(models.TextChoices):
    IDENTIFIANT = "identifiant", _("Identifiant oublié")
    PASSWORD = "password", _("Mot de passe oublié")


class ReassignmentState(models.TextChoices):
    PREPARED = "prepared", _("Préparée")
    APPROVED = "approved", _("Approuvée")
    OBJECTED = "objected", _("En opposition")
    APPLIED = "applied", _("Appliquée")
    REJECTED = "rejected", _("Refusée")
    CANCELLED = "cancelled", _("Annulée")


# The reassignment state machine, declared once; only ``accounts.extranet.reassignment`` moves a
# reassignment along it, each time with a conditional UPDATE on the current state.
REASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    ReassignmentState.PREPARED: frozenset(
        {ReassignmentState.APPROVED, ReassignmentState.REJECTED, ReassignmentState.CANCELLED}
    ),
    ReassignmentState.APPROVED: frozenset(
        {ReassignmentState.APPLIED, ReassignmentState.OBJECTED, ReassignmentState.CANCELLED}
    ),
    ReassignmentState.APPLIED: frozenset(),
    ReassignmentState.REJECTED: frozenset(),
    ReassignmentState.OBJECTED: frozenset(),
    ReassignmentState.CANCELLED: frozenset(),
}
OPEN_REASSIGNMENT_STATES = (ReassignmentState.PREPARED, ReassignmentState.APPROVED)


class ObjectionParty(models.TextChoices):
    PREVIOUS_HOLDER = "previous_holder", _("Titulaire actuel du compte")
    ESTABLISHMENT = "establishment", _("Adresse de l'établissement")


class AccountReassignment(models.Model):
    """Case 2.1: an extranet account handed to a new holder, under four eyes and with a
    waiting period during which the previous holder and the establishment can object."""

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        related_name="reassignments",
        verbose_name=_("demande"),
    )
    account = models.ForeignKey(
        ExtranetAccount,
        on_delete=models.PROTECT,
        related_name="reassignments",
        verbose_name=_("compte extranet"),
    )
    state = models.CharField(
        _("état"),
        max_length=20,
        choices=ReassignmentState.choices,
        default=ReassignmentState.PREPARED,
    )
    new_holder_last_name = models.CharField(_("nom du nouveau titulaire"), max_length=100)
    new_holder_first_name = models.CharField(_("prénom du nouveau titulaire"), max_length=100)
    new_holder_email = models.EmailField(_("courriel du nouveau titulaire"))
    new_holder_phone = models.CharField(_("téléphone du nouveau titulaire"), max_length=20)
    evidence_notes = models.TextField(_("éléments vérifiés"))
    # The holder as it was when the change was prepared: what the notices name.
    previous_holder_email = models.EmailField(_("courriel du titulaire précédent"))
    previous_holder_name = models.CharField(_("titulaire précédent"), max_length=200)

    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("préparée par"),
    )
    prepared_at = models.DateTimeField(_("préparée le"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("validée par"),
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refusée par"),
    )
    decided_at = models.DateTimeField(_("décision le"), null=True, blank=True)
    decision_comment = models.TextField(_("motif de la décision"), blank=True)
    apply_after = models.DateTimeField(_("applicable après"), null=True, blank=True)
    applied_at = models.DateTimeField(_("appliquée le"), null=True, blank=True)
    objected_at = models.DateTimeField(_("opposition le"), null=True, blank=True)
    objected_by_party = models.CharField(
        _("opposition de"), max_length=20, choices=ObjectionParty.choices, blank=True
    )
    cancelled_at = models.DateTimeField(_("annulée le"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("annulée par"),
    )
    # SHA-256 of the objection tokens, drawn by the worker when it sends each notice.
    previous_holder_objection_hash = models.CharField(max_length=64, blank=True, default="")
    establishment_objection_hash = models.CharField(max_length=64, blank=True, default="")
    # How many other reassignments the establishment had in the repeat window, at
    # preparation (shown to the approver).
    recent_reassignments = models.PositiveIntegerField(default=0)

    # Copied from the ticket and the establishment at preparation, each indexed with
    # ``prepared_at``: the risk signals compare a reassignment with the others of the last
    # 90 days by index range (``accounts.extranet.risk``), never by joining the tickets.
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, default="")
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, default="")
    requester_email = models.CharField(
        _("courriel du demandeur"), max_length=254, blank=True, default=""
    )
    requester_email_domain = models.CharField(
        _("domaine du courriel du demandeur"), max_length=254, blank=True, default=""
    )
    requester_phone = models.CharField(
        _("téléphone du demandeur"), max_length=20, blank=True, default=""
    )
    # The registry's creation date of the establishment (midnight UTC), read at
    # preparation and again at each approval.
    registry_started_at = models.DateTimeField(
        _("date de création au registre"), null=True, blank=True
    )
    # Declared vs registry name, from the SIRET verification the change relies on
    # (``establishments.selectors.denomination_compare``), refreshed at each approval.
    name_match = models.CharField(_("dénomination"), max_length=10, blank=True, default="")
    name_similarity = models.FloatField(_("similarité de la dénomination"), null=True, blank=True)
    # Set when a re-check refused a step or the registry closed the establishment while
    # the change was open: shown on the pending list and the approval page.
    flag_reason = models.TextField(_("signalement"), blank=True, default="")
    flagged_at = models.DateTimeField(_("signalée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("réattribution de compte")
        verbose_name_plural = _("réattributions de compte")
        ordering = ["-prepared_at", "-id"]
        indexes = [
            models.Index(
                fields=["apply_after"],
                name="reassignment_due_idx",
                condition=models.Q(state="approved"),
            ),
            models.Index(fields=["state", "prepared_at"], name="reassignment_state_idx"),
            # The latest ended changes (the list page), newest first.
            models.Index(fields=["prepared_at", "id"], name="reassignment_prepared_idx"),
            # The pending list's keyset order.
            models.Index(
                fields=["prepared_at", "id"],
                name="reassignment_pending_idx",
                condition=models.Q(state="prepared"),
            ),
            models.Index(fields=["siret", "prepared_at"], name="reassignment_siret_idx"),
            models.Index(fields=["siren", "prepared_at"], name="reassignment_siren_idx"),
            models.Index(
                fields=["requester_email", "prepared_at"], name="reassignment_req_email_idx"
            ),
            models.Index(
                fields=["requester_email_domain", "prepared_at"],
                name="reassignment_req_domain_idx",
            ),
            models.Index(
                fields=["requester_phone", "prepared_at"], name="reassignment_req_phone_idx"
            ),
        ]
        constraints = [
            # One change at a time per account: a second one waits for the first to end.
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(state__in=["prepared", "approved"]),
                name="reassignment_one_open_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"Réattribution #{self.pk} ({self.get_state_display()})"

    @property
    def new_holder_name(self) -> str:
        return f"{self.new_holder_first_name} {self.new_holder_last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REASSIGNMENT_STATES


class ReassignmentApproval(models.Model):
    """One supervisor's approval of a reassignment, with the written acknowledgement of
    each risk signal that was live when they approved. A change with two or more signals
    needs two of these from different supervisors
    (``REASSIGNMENT_TWO_APPROVERS_FROM_SIGNALS``); the last one moves it to ``approved``.
    Append-only: written by ``accounts.extranet.reassignment`` only."""

    reassignment = models.ForeignKey(
        AccountReassignment, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approuvée par"),
    )
    approved_at = models.DateTimeField(_("approuvée le"))
    # {signal code: the approver's written acknowledgement}
    acknowledgements = models.JSONField(_("signaux pris en compte"), default=dict, blank=True)
    file_version = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("approbation d'une réattribution")
        verbose_name_plural = _("approbations des réattributions")
        ordering = ["approved_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reassignment", "approver"], name="reassignment_approval_once_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reassignment_id} {self.approver_id}"


class ExtranetHolderHistory(models.Model):
    """One row per change of an account's holder; append-only."""

    account = models.ForeignKey(
        ExtranetAccount, on_delete=models.CASCADE, related_name="holder_history"
    )
    previous_last_name = models.CharField(max_length=100)
    previous_first_name = models.CharField(max_length=100)
    previous_email = models.EmailField()
    previous_phone = models.CharField(max_length=20, blank=True)
    new_last_name = models.CharField(max_length=100)
    new_first_name = models.CharField(max_length=100)
    new_email = models.EmailField()
    new_phone = models.CharField(max_length=20, blank=True)
    changed_at = models.DateTimeField()
    reassignment = models.OneToOneField(
        AccountReassignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="history",
    )

    class Meta:
        verbose_name = _("historique des titulaires")
        verbose_name_plural = _("historique des titulaires")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.changed_at:%Y-%m-%d}"
