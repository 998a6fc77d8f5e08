"""Saved views ("vues enregistrées"): the filters and sort of a ticket list kept under a
name by an agent, shown in the navigation with their counts, and shared by a supervisor
with a queue (its members then see it, read-only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 60


class SavedViewScope(models.TextChoices):
    QUEUE = "queue", _("File")
    MINE = "mine", _("Mes tickets")
    UNASSIGNED = "unassigned", _("Non assignés")


class SavedView(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("propriétaire"),
    )
    name = models.CharField(_("nom"), max_length=NAME_MAX_LENGTH)
    scope = models.CharField(_("liste"), max_length=12, choices=SavedViewScope.choices)
    # The queue of a queue page (scope "queue"); none for "mes tickets" / "non assignés".
    queue = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("file"),
    )
    # The list's GET parameters (filter name → values, and "sort"), re-validated when the
    # view is applied: a value removed since then shows an error, never a failure.
    params = models.JSONField(_("filtres"), default=dict, blank=True)
    shared_with = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shared_views",
        verbose_name=_("partagée avec la file"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("vue enregistrée")
        verbose_name_plural = _("vues enregistrées")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                "owner", Lower("name"), name="saved_view_unique_name_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(scope="queue", queue__isnull=False)
                | (~models.Q(scope="queue") & models.Q(queue__isnull=True)),
                name="saved_view_queue_iff_queue_scope",
            ),
        ]

    def __str__(self) -> str:
        return self.name
