from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("À envoyer")
    SENDING = "sending", _("En cours d'envoi")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("Échec")
    # Not sent because it no longer had an object (e.g. a recovery link replaced by a
    # newer one before its e-mail left).
    CANCELLED = "cancelled", _("Sans objet")


class OutboundEmail(models.Model):
    """An e-mail to send: the outbox.

    Written in the same transaction as the change that needs it, so an e-mail exists exactly
    when its change committed. The task is enqueued on commit; if the broker is down at that
    moment, the row stays pending and the beat sweep hands it over once the broker is back.
    The message is rendered at send time from ``template`` and ``context``.
    """

    template = models.CharField(_("modèle"), max_length=100)
    to_email = models.EmailField(_("destinataire"))
    context = models.JSONField(_("contexte"), default=dict)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="emails",
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"))
    enqueued_at = models.DateTimeField(_("confié au broker le"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("pris par un worker le"), null=True, blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("courriel sortant")
        verbose_name_plural = _("courriels sortants")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} #{self.pk}"
