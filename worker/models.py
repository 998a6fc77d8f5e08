from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

EMAIL = "email"


class EmailStatus(models.TextChoices):
    """The life of an outbox job (an e-mail, or another job kind)."""

    PENDING = "pending", _("À traiter")
    SENDING = "sending", _("En cours")
    SENT = "sent", _("Fait")
    FAILED = "failed", _("Échec")
    # Not done because it no longer had an object (e.g. a recovery link replaced by a
    # newer one before its e-mail left).
    CANCELLED = "cancelled", _("Sans objet")


JobStatus = EmailStatus


class OutboxJob(models.Model):
    """The outbox: work that must happen exactly once after a change commits.

    Written in the same transaction as the change that needs it, so a job exists exactly
    when its change committed. The job is handed to the broker on commit; if the broker is
    down at that moment, the row stays pending and beat's sweep hands it over once the
    broker is back. A worker claims it with a conditional UPDATE (two workers given the same
    id cannot both run it), runs it, and retries transient failures with backoff.

    ``kind`` says what to do: ``"email"`` (render ``template`` with ``context`` and send it
    to ``to_email``) or the name of a handler an app registered (``worker.hooks``), whose
    payload is ``context``. The worker knows no domain: what a job needs from an app at run
    time goes through the hooks that app registered.
    """

    kind = models.CharField(_("type"), max_length=50, default=EMAIL)
    template = models.CharField(_("modèle"), max_length=100, blank=True)
    to_email = models.EmailField(_("destinataire"), blank=True)
    context = models.JSONField(_("contexte"), default=dict)
    # An optional ticket the job belongs to (by name: the worker imports no domain model),
    # so that the ticket page can show its e-mails and retention can erase them.
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
    sent_at = models.DateTimeField(_("fait le"), null=True, blank=True)
    # The web request that queued the job (its X-Request-ID), so that the worker's log
    # lines for this job, even a retry an hour later, can be joined to that request's.
    request_id = models.CharField(_("requête d'origine"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("tâche sortante")
        verbose_name_plural = _("tâches sortantes")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            # The age of the oldest job not done yet (the metrics endpoint): one probe.
            models.Index(
                fields=["created_at"],
                name="outbox_pending_created_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            # The retention of finished jobs of kinds that are not kept (e.g. the
            # "J'ai oublié…" requests, which hold what a visitor typed).
            models.Index(
                fields=["kind", "created_at"],
                name="outbox_done_kind_idx",
                condition=~models.Q(kind=EMAIL),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template or self.kind} #{self.pk}"

    @property
    def is_email(self) -> bool:
        return self.kind == EMAIL


class OutboundEmailManager(models.Manager["OutboundEmail"]):
    def get_queryset(self) -> models.QuerySet[OutboundEmail]:
        return super().get_queryset().filter(kind=EMAIL)


class OutboundEmail(OutboxJob):
    """The e-mails of the outbox (the jobs of kind ``"email"``)."""

    objects = OutboundEmailManager()

    class Meta:
        proxy = True
        verbose_name = _("courriel sortant")
        verbose_name_plural = _("courriels sortants")

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = EMAIL
        super().save(*args, **kwargs)


class Metric(models.Model):
    """One series of the operator's metrics that outlives a process: counters and
    histograms written by workers and beat (on any machine), gauges written by beat's
    rollup and by the heartbeats. The metrics endpoint reads the whole table (a few hundred
    rows) in one query; see ``worker.metrics``.

    ``labels`` is the series' labels as canonical JSON (sorted keys), so that one series is
    one row and an increment is one upsert.
    """

    name = models.CharField(max_length=120)
    labels = models.CharField(max_length=400, blank=True, default="")
    value = models.FloatField(default=0.0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("métrique")
        verbose_name_plural = _("métriques")
        constraints = [
            models.UniqueConstraint(fields=["name", "labels"], name="metric_one_row_per_series")
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.labels} = {self.value}"
