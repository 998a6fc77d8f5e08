from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from worker.audit import AppendOnlyModel
from worker.choices import ChoiceLabels


class Motif(models.TextChoices):
    """The six motifs of the extranet's assistance form, in its order and wording. The
    values are the API contract's (DESIGN.md section 5)."""

    HABILITATION_EXTRANET = "habilitation_extranet", _("Habilitation à l'extranet")
    FICHE_ETABLISSEMENT = "fiche_etablissement", _("Fiche Etablissement")
    DECISION_AUTORISATION = "decision_autorisation", _("Décision d'Autorisation")
    DEMANDE_INDEMNISATION = "demande_indemnisation", _("Demande d'indemnisation")
    CERTIFICAT_SIGNATURE = "certificat_signature", _("Certificat de signature")
    AUTRES = "autres", _("Autres")


class Status(models.TextChoices):
    NOUVEAU = "nouveau", _("Nouveau")
    EN_COURS = "en_cours", _("En cours")
    EN_ATTENTE = "en_attente", _("En attente du demandeur")
    RESOLU = "resolu", _("Résolu")
    CLOS = "clos", _("Clos")


# The ticket state machine, declared once; ``tickets.services.ticket_change_status`` is the
# only code that moves a ticket along it.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NOUVEAU: frozenset({Status.EN_COURS, Status.EN_ATTENTE, Status.RESOLU}),
    Status.EN_COURS: frozenset({Status.EN_ATTENTE, Status.RESOLU}),
    Status.EN_ATTENTE: frozenset({Status.EN_COURS, Status.RESOLU}),
    Status.RESOLU: frozenset({Status.EN_COURS, Status.CLOS}),
    Status.CLOS: frozenset(),
}
OPEN_STATUSES = (Status.NOUVEAU, Status.EN_COURS, Status.EN_ATTENTE)


class Priority(models.IntegerChoices):
    LOW = 10, _("Basse")
    NORMAL = 20, _("Normale")
    HIGH = 30, _("Haute")
    URGENT = 40, _("Urgente")


class Source(models.TextChoices):
    FORM = "form", _("Formulaire public")
    API = "api", _("API extranet")
    BACKOFFICE = "backoffice", _("Back-office")


class Queue(models.Model):
    slug = models.SlugField(_("identifiant"), max_length=50, unique=True)
    name = models.CharField(_("nom"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(
        _("file par défaut"),
        default=False,
        help_text=_("Reçoit les demandes qu'aucune règle de routage ne couvre."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="queues",
        blank=True,
        verbose_name=_("agents de la file"),
    )

    class Meta:
        verbose_name = _("file")
        verbose_name_plural = _("files")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="queue_single_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Where requests of one motif go, with which priority and SLA targets. Supervisors
    edit these rows; the intake service reads them for every request."""

    motif = models.CharField(_("motif"), max_length=40, choices=Motif.choices, unique=True)
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="routing_rules", verbose_name=_("file")
    )
    priority = models.PositiveSmallIntegerField(
        _("priorité"), choices=Priority.choices, default=Priority.NORMAL
    )
    first_response_hours = models.PositiveIntegerField(
        _("délai de première réponse (heures ouvrées)"), default=8
    )
    resolution_hours = models.PositiveIntegerField(
        _("délai de résolution (heures ouvrées)"), default=40
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("règle de routage")
        verbose_name_plural = _("règles de routage")
        ordering = ["motif"]

    def __str__(self) -> str:
        return f"{self.get_motif_display()} → {self.queue}"


class ReferenceCounter(models.Model):
    """One row per year; gives tickets their AP-YYYY-NNNNNN numbers without gaps from
    other tables' ids leaking into references."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_value}"


class Ticket(ChoiceLabels):
    reference = models.CharField(_("référence"), max_length=20, unique=True, editable=False)
    # The S8 fields, as the requester typed them (normalised).
    siret = models.CharField(_("N° de SIRET"), max_length=14)
    denomination = models.CharField(_("dénomination établissement"), max_length=200)
    requester_name = models.CharField(_("nom et prénom"), max_length=200)
    phone = models.CharField(_("N° de téléphone"), max_length=20)
    email = models.EmailField(_("adresse électronique"))
    motif = models.CharField(_("motif de la demande"), max_length=40, choices=Motif.choices)
    description = models.TextField(_("description de la demande"))

    source = models.CharField(_("origine"), max_length=20, choices=Source.choices)
    establishment = models.ForeignKey(
        "establishments.Establishment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("établissement"),
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("file")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("agent assigné"),
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.NOUVEAU
    )
    priority = models.PositiveSmallIntegerField(
        _("priorité"), choices=Priority.choices, default=Priority.NORMAL
    )
    # Bumped by every service that changes the ticket: an edit made on an older version is
    # refused instead of silently overwriting a colleague's change.
    version = models.PositiveIntegerField(default=1, editable=False)

    created_at = models.DateTimeField(_("créé le"), db_index=False)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    first_response_at = models.DateTimeField(_("première réponse"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("résolu le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)
    sla_first_response_due = models.DateTimeField(
        _("échéance de première réponse"), null=True, blank=True
    )
    sla_resolution_due = models.DateTimeField(_("échéance de résolution"), null=True, blank=True)
    # Set while the ticket waits on the requester: the SLA clock is paused.
    sla_paused_at = models.DateTimeField(_("délai suspendu depuis"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(
        _("première réponse hors délai le"), null=True, blank=True
    )
    resolution_breached_at = models.DateTimeField(
        _("résolution hors délai le"), null=True, blank=True
    )
    anonymized_at = models.DateTimeField(_("anonymisé le"), null=True, blank=True)
    # Set when the requester answers or sends a document, cleared when the assigned agent
    # (or, with nobody assigned, an agent of the queue) opens the ticket: the lists show
    # the ticket as unread meanwhile.
    requester_unread_at = models.DateTimeField(
        _("réponse du demandeur non lue depuis"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("demande d'assistance")
        verbose_name_plural = _("demandes d'assistance")
        ordering = ["created_at", "id"]
        indexes = [
            # Queue pages: one queue, one status, oldest first, keyset on (created_at, id).
            models.Index(fields=["queue", "status", "created_at", "id"], name="ticket_queue_idx"),
            # Search by the requester's phone number (tickets/search.py); the SIRET and the
            # e-mail have theirs below, the text a GIN index (migration 0012).
            models.Index(fields=["phone"], name="ticket_phone_idx"),
            # Open tickets of a queue, whatever their open status ("à traiter").
            models.Index(
                fields=["queue", "created_at", "id"],
                name="ticket_queue_open_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_idx"),
            models.Index(fields=["siret", "created_at"], name="ticket_siret_idx"),
            models.Index(fields=["email"], name="ticket_email_idx"),
            # The SLA sweep: open tickets whose resolution target is not yet marked breached.
            models.Index(
                fields=["sla_resolution_due"],
                name="ticket_sla_open_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            # Dashboard periods (backoffice.dashboard): intake per day, first-response and
            # resolution times, SLA attainment over a date range.
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            # Backlog per queue and status, open tickets per agent, and the capped counts
            # of the lists and saved views (their motif filter read from the INCLUDE):
            # index-only scans of a small index (with COUNT(*), so no column outside it
            # is read).
            models.Index(
                fields=["queue", "status", "assignee"],
                name="ticket_open_queue_status_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
                include=["motif"],
            ),
            models.Index(
                fields=["first_response_at"],
                name="ticket_first_response_idx",
                condition=models.Q(first_response_at__isnull=False),
            ),
            models.Index(
                fields=["resolved_at"],
                name="ticket_resolved_idx",
                condition=models.Q(resolved_at__isnull=False),
            ),
            # Back-office lists (keyset on the sort key + id, see tickets.selectors):
            # "mes tickets", oldest first.
            models.Index(
                fields=["assignee", "created_at", "id"], name="ticket_assignee_created_idx"
            ),
            # A queue filtered on an assignee (and a status): the rows and the capped count
            # are both one range of this index.
            # The motif rides along (INCLUDE, PostgreSQL): the supervisor's filtered page
            # (queue + agent + status + motif) and its capped count read the index only.
            models.Index(
                fields=["queue", "assignee", "status", "created_at", "id"],
                include=["motif"],
                name="ticket_queue_assignee_idx",
            ),
            # "Non assignés" across the agent's queues.
            models.Index(
                fields=["created_at", "id"],
                name="ticket_unassigned_open_idx",
                condition=models.Q(assignee__isnull=True, status__in=OPEN_STATUSES),
            ),
            # "Prendre le ticket suivant": highest priority, then oldest, unassigned.
            models.Index(
                fields=["queue", "-priority", "created_at", "id"],
                name="ticket_next_unassigned_idx",
                condition=models.Q(assignee__isnull=True, status__in=OPEN_STATUSES),
            ),
            # A queue's open tickets sorted by priority or by last change.
            models.Index(
                fields=["queue", "priority", "created_at", "id"],
                name="ticket_queue_open_prio_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                fields=["queue", "updated_at", "id"],
                name="ticket_queue_open_upd_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            # The dashboard's "hors délai" per queue (tickets.selectors.sla_late_q): an
            # index-only scan of the open tickets, whatever their due dates.
            models.Index(
                fields=["queue", "sla_resolution_due"],
                include=["first_response_at", "sla_first_response_due"],
                name="ticket_open_sla_queue_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(siret__regex=r"^[0-9]{14}$"), name="ticket_siret_14_digits"
            ),
            # Two identical requests arriving at once cannot both open a ticket: the second
            # hits this constraint and is attached to the first (see the intake service).
            models.UniqueConstraint(
                fields=["siret", "motif", "email"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="ticket_one_open_per_requester",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def allowed_transitions(self) -> frozenset[str]:
        return STATUS_TRANSITIONS[self.status]


class EventKind(models.TextChoices):
    CREATED = "created", _("Demande reçue")
    ROUTED = "routed", _("Routée vers une file")
    REQUEST_REPEATED = "request_repeated", _("Nouvelle demande identique rattachée")
    ASSIGNED = "assigned", _("Assignée")
    UNASSIGNED = "unassigned", _("Désassignée")
    STATUS_CHANGED = "status_changed", _("Statut modifié")
    NOTE_ADDED = "note_added", _("Note interne")
    REPLY_SENT = "reply_sent", _("Réponse au demandeur")
    SIRET_VERIFIED = "siret_verified", _("SIRET vérifié")
    REASSIGNMENT = "reassignment", _("Réattribution du compte")
    EMAIL_SENT = "email_sent", _("Courriel envoyé")
    EMAIL_FAILED = "email_failed", _("Échec d'envoi de courriel")
    LINK_SENT = "link_sent", _("Lien envoyé")
    LINK_USED = "link_used", _("Lien utilisé")
    LINK_EXPIRED = "link_expired", _("Lien expiré")
    NOTICE_LINKED = "notice_linked", _("Rattachée à un bandeau d'incident")
    SLA_BREACHED = "sla_breached", _("Délai dépassé")
    REQUESTER_REPLIED = "requester_replied", _("Réponse du demandeur reçue")
    DOCUMENTS_REQUESTED = "documents_requested", _("Justificatifs demandés")
    DOCUMENT_RECEIVED = "document_received", _("Document reçu")
    DOCUMENT_DOWNLOADED = "document_downloaded", _("Document téléchargé")
    DOCUMENT_PREVIEWED = "document_previewed", _("Document affiché (aperçu)")
    DOCUMENT_REJECTED = "document_rejected", _("Document refusé")
    FOLLOWUP_LINK_RENEWED = "followup_link_renewed", _("Nouveau lien de suivi envoyé")


class TicketEvent(ChoiceLabels, AppendOnlyModel):
    """One line of a ticket's timeline. Append-only: rows are never updated or deleted."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("type"), max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    # Before/after values and any detail the event needs; never a secret.
    data = models.JSONField(_("détails"), default=dict, blank=True)
    created_at = models.DateTimeField(_("date"))

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class MessageKind(models.TextChoices):
    REQUEST = "request", _("Demande du demandeur")
    REPLY = "reply", _("Réponse envoyée au demandeur")
    NOTE = "note", _("Note interne")
    REQUESTER_REPLY = "requester_reply", _("Réponse du demandeur")
    # A request with the SIRET, motif and address of this open ticket, received again
    # through the public form or the API: anyone can type them, so it is never shown as
    # the requester's own message (DESIGN: the repeat rule).
    REPEATED_REQUEST = "repeated_request", _("Demande reçue à nouveau")


class TicketMessage(ChoiceLabels):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("type"), max_length=20, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("date"))
    # A repeated request: the address typed with it and where it came from (``Source``).
    # Empty for every other message; a database default too, so that bulk loads that
    # name their columns (the bench's COPY) need not know these.
    received_from = models.EmailField(_("adresse saisie"), blank=True, default="", db_default="")
    received_via = models.CharField(
        _("reçue par"),
        max_length=20,
        choices=Source.choices,
        blank=True,
        default="",
        db_default="",
    )
    # A reply that asks for documents: the ``DocumentKind`` values it lists (the follow-up
    # page shows which of them arrived). None for every other message.
    requested_documents = models.JSONField(_("justificatifs demandés"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class SlaPause(models.Model):
    """A period during which the SLA clock stood still (ticket waiting on the requester)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_pauses")
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    business_seconds = models.PositiveIntegerField(_("durée ouvrée (secondes)"), default=0)

    class Meta:
        verbose_name = _("suspension du délai")
        verbose_name_plural = _("suspensions du délai")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(ended_at__isnull=True),
                name="sla_one_open_pause_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.started_at:%Y-%m-%d %H:%M}"


class SiretVerdict(models.TextChoices):
    PASSED = "passed", _("SIRET vérifié : conforme")
    FAILED = "failed", _("SIRET non conforme")
    INCONCLUSIVE = "inconclusive", _("Vérification non concluante")


class SiretVerification(ChoiceLabels):
    """An agent's verdict on a ticket's SIRET, with the checks it was given when deciding
    (a snapshot: the registry may change afterwards). Written only by
    ``tickets.verification.ticket_siret_verify``, together with a ``SIRET_VERIFIED``
    event on the ticket. The latest row is what the reassignment workflow reads
    (``tickets.verification.ticket_siret_verification_passed``)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="siret_verifications")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    verdict = models.CharField(_("verdict"), max_length=20, choices=SiretVerdict.choices)
    comment = models.TextField(_("commentaire"))
    # Required with "passed" whenever the declared name is not the registry's after
    # normalisation, or the registry has no name (``tickets.verification``).
    name_justification = models.TextField(
        _("justification de la dénomination"), blank=True, default=""
    )
    checks = models.JSONField(_("contrôles"), default=dict)
    created_at = models.DateTimeField(_("date"))

    class Meta:
        verbose_name = _("vérification de SIRET")
        verbose_name_plural = _("vérifications de SIRET")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="siret_verif_ticket_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(verdict__in=["passed", "failed", "inconclusive"]),
                name="siret_verification_verdict_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.verdict}"


class RoutingChangeKind(models.TextChoices):
    RULE_UPDATED = "rule_updated", _("Règle de routage modifiée")
    QUEUE_MEMBERS_SET = "queue_members_set", _("Agents d'une file modifiés")


class RoutingChange(AppendOnlyModel):
    """Who changed a routing rule or a queue's members, when, and from what to what.
    Append-only, written by ``tickets.services.routing_rule_update`` and
    ``tickets.services.queue_members_set`` in the transaction of the change."""

    kind = models.CharField(_("type"), max_length=30, choices=RoutingChangeKind.choices)
    # None for a membership changed outside the services (a shell, a command): the
    # request's actor, if any, is then in ``data["actor_ref"]``.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    rule = models.ForeignKey(
        RoutingRule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
        verbose_name=_("règle"),
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="routing_changes",
        verbose_name=_("file"),
    )
    # {"field": [before, after]} for a rule; {"added": [...], "removed": [...]} for members.
    data = models.JSONField(_("détails"), default=dict)
    created_at = models.DateTimeField(_("date"))

    class Meta:
        verbose_name = _("modification du routage")
        verbose_name_plural = _("modifications du routage")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at", "id"], name="routing_change_date_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class FollowUpLink(models.Model):
    """The requester's personal link to the follow-up page of one ticket (DESIGN.md
    section 10).

    One row per e-mail that carries a link (the acknowledgement, each reply, a new link
    sent by an agent). The raw token exists only in the e-mail: the worker draws it when it
    sends the message (``tickets.followup.followup_link_issue``) and stores its SHA-256
    here. A link works many times, while its ticket is open and
    ``FOLLOWUP_LINK_DAYS_AFTER_CLOSE`` days after it is resolved or closed, until an agent
    revokes it by sending a new one (which revokes every older link of the ticket).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followup_links")
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("créé le"))
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière ouverture"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("demandé par"),
    )

    class Meta:
        verbose_name = _("lien de suivi")
        verbose_name_plural = _("liens de suivi")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="followup_link_ticket_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~models.Q(token_hash=""),
                name="followup_link_token_hash_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} #{self.pk}"


class DocumentKind(models.TextChoices):
    """What a document is. The first three are the evidence of case 2.1 (DESIGN.md
    section 10)."""

    KBIS = "kbis", _("Extrait Kbis de moins de trois mois")
    MANDATE = "mandate", _("Mandat du représentant légal désignant le nouvel utilisateur")
    IDENTITY = "identity", _("Pièce d'identité")
    OTHER = "other", _("Autre document")


# The evidence an "Habilitation à l'extranet" request needs for a reassignment (case 2.1).
HABILITATION_EVIDENCE = (DocumentKind.KBIS, DocumentKind.MANDATE, DocumentKind.IDENTITY)


class DocumentStatus(models.TextChoices):
    RECEIVED = "received", _("Reçu")
    REJECTED = "rejected", _("Refusé")


class DocumentSource(models.TextChoices):
    FOLLOWUP = "followup", _("Espace de suivi du demandeur")
    API = "api", _("API extranet")


class PreviewStatus(models.TextChoices):
    PENDING = "pending", _("En préparation")
    READY = "ready", _("Prêt")
    UNAVAILABLE = "unavailable", _("Indisponible")


class TicketDocument(ChoiceLabels):
    """A file a requester sent (PDF, JPEG or PNG, the type read from its content).

    The file lives in the ``documents`` storage under a random name (``storage_name``),
    never under a public URL; ``name`` is the requester's file name, sanitised, for display
    and for the download's ``Content-Disposition``. ``preview_name`` is a PNG rendering
    made by the worker (the first page of a PDF, a reduced image): agents preview that,
    so their browser never interprets the requester's file.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="documents")
    message = models.ForeignKey(
        TicketMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("message"),
    )
    kind = models.CharField(
        _("nature"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER
    )
    source = models.CharField(_("origine"), max_length=20, choices=DocumentSource.choices)
    name = models.CharField(_("nom du fichier"), max_length=200)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveIntegerField(_("taille (octets)"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    storage_name = models.CharField(max_length=255, editable=False)
    preview_name = models.CharField(max_length=255, blank=True, default="", editable=False)
    preview_status = models.CharField(
        _("aperçu"),
        max_length=20,
        choices=PreviewStatus.choices,
        default=PreviewStatus.PENDING,
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.RECEIVED
    )
    rejection_reason = models.TextField(_("motif du refus"), blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refusé par"),
    )
    rejected_at = models.DateTimeField(_("refusé le"), null=True, blank=True)
    # Ticked by the agent who prepares a reassignment (case 2.1): this document was checked.
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("vérifié par"),
    )
    checked_at = models.DateTimeField(_("vérifié le"), null=True, blank=True)
    created_at = models.DateTimeField(_("reçu le"))
    # Retention: the file is deleted from the storage and the name erased.
    erased_at = models.DateTimeField(_("effacé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="document_ticket_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                name="document_content_type_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.name}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def type_label(self) -> str:
        return {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}.get(
            self.content_type, self.content_type
        )


class CannedReply(models.Model):
    """A "réponse type": a reply text that supervisors prepare for one queue (and one
    motif, or every motif of the queue when ``motif`` is blank), which agents insert into
    the reply box of a ticket, edit and send. Its placeholders (``tickets.canned``) are
    filled with the ticket's values when it is inserted."""

    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="canned_replies", verbose_name=_("file")
    )
    motif = models.CharField(
        _("motif"),
        max_length=40,
        choices=Motif.choices,
        blank=True,
        help_text=_("Vide : tous les motifs de la file."),
    )
    title = models.CharField(_("titre"), max_length=120)
    body = models.TextField(_("texte"))
    is_active = models.BooleanField(_("active"), default=True)
    # Incremented (F()) when a reply built from this one is sent.
    usage_count = models.PositiveIntegerField(_("utilisations"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créée par"),
    )
    created_at = models.DateTimeField(_("créée le"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("modifiée par"),
    )
    updated_at = models.DateTimeField(_("modifiée le"))

    class Meta:
        verbose_name = _("réponse type")
        verbose_name_plural = _("réponses types")
        ordering = ["title", "id"]
        indexes = [
            # The ticket page: the active replies of one queue, for one motif or all.
            models.Index(fields=["queue", "is_active", "motif"], name="canned_reply_queue_idx")
        ]

    def __str__(self) -> str:
        return self.title
