from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from worker.audit import AppendOnlyModel


class NoticeLevel(models.TextChoices):
    """DSFR notice levels ("bandeau d'information importante")."""

    INFO = "info", _("Information")
    WARNING = "warning", _("Avertissement")
    ALERT = "alert", _("Alerte")


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    SCHEDULED = "scheduled", _("Programmée")
    PUBLISHED = "published", _("Publiée")
    EXPIRED = "expired", _("Expirée")
    WITHDRAWN = "withdrawn", _("Retirée")


# The notice state machine, declared once; backoffice.notices.services moves notices along it.
NOTICE_TRANSITIONS: dict[str, frozenset[str]] = {
    NoticeState.DRAFT: frozenset({NoticeState.SCHEDULED, NoticeState.PUBLISHED}),
    NoticeState.SCHEDULED: frozenset(
        {NoticeState.DRAFT, NoticeState.PUBLISHED, NoticeState.EXPIRED, NoticeState.WITHDRAWN}
    ),
    NoticeState.PUBLISHED: frozenset({NoticeState.EXPIRED, NoticeState.WITHDRAWN}),
    NoticeState.EXPIRED: frozenset(),
    NoticeState.WITHDRAWN: frozenset(),
}
EDITABLE_STATES = (NoticeState.DRAFT, NoticeState.SCHEDULED, NoticeState.PUBLISHED)


class IncidentNotice(models.Model):
    """An incident banner (S9), shown on every public page, in the back-office and through
    ``GET /api/v1/notices/active`` while it is published."""

    title = models.CharField(_("titre"), max_length=200)
    # Plain text: always escaped when rendered, never HTML.
    text = models.TextField(_("texte"), max_length=2000)
    link = models.URLField(_("lien"), blank=True)
    level = models.CharField(
        _("niveau"), max_length=10, choices=NoticeLevel.choices, default=NoticeLevel.INFO
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"), null=True, blank=True)
    affected_motifs = models.JSONField(_("motifs concernés"), default=list, blank=True)
    state = models.CharField(
        _("état"), max_length=10, choices=NoticeState.choices, default=NoticeState.DRAFT
    )
    tickets = models.ManyToManyField(
        "tickets.Ticket", related_name="incident_notices", blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)
    ended_at = models.DateTimeField(_("retirée ou expirée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("bandeau d'incident")
        verbose_name_plural = _("bandeaux d'incident")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(
                fields=["starts_at"],
                name="notice_due_idx",
                condition=models.Q(state__in=["scheduled", "published"]),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="notice_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES


class NoticeEvent(AppendOnlyModel):
    """Who did what to a notice. Append-only."""

    notice = models.ForeignKey(IncidentNotice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("action"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.kind}"
