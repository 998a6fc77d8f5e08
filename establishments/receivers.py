"""An establishment's e-mail on record is where the objection notice of a reassignment
goes: a change of it is recorded (``EstablishmentChange``, before/after) and told to the
PREVIOUS address, whoever makes it and from wherever (the admin, a command, a shell).
Hooked on the model's signals for that reason.

The author is the request's actor (``worker.context``), or "hors requête"."""

from __future__ import annotations

from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from worker import context
from worker.services import email_queue

from .models import Establishment, EstablishmentChange

OUTSIDE_A_REQUEST = "hors requête"


def _masked(address: str) -> str:
    local, _at, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else ""


def _before_save(sender, instance: Establishment, raw: bool = False, **kwargs) -> None:
    instance._email_before = None  # type: ignore[attr-defined]
    if raw or instance._state.adding or instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "email" not in update_fields:
        return
    instance._email_before = (  # type: ignore[attr-defined]
        Establishment.objects.filter(pk=instance.pk).values_list("email", flat=True).first()
    )


def _after_save(sender, instance: Establishment, created: bool, raw: bool = False, **kwargs):
    before = getattr(instance, "_email_before", None)
    if raw or created or before is None or before == instance.email:
        return
    ref = context.actor() or ""
    actor_id = None
    if ref.startswith("user:") and ref[5:].isdigit():
        actor_id = int(ref[5:])
    EstablishmentChange.objects.create(
        establishment=instance,
        field="email",
        before=before,
        after=instance.email,
        actor_id=actor_id,
        actor_ref=ref or OUTSIDE_A_REQUEST,
        created_at=timezone.now(),
    )
    if before:
        email_queue(
            template="establishment_email_changed",
            to_email=before,
            context={
                "denomination": instance.denomination,
                "siret": instance.siret,
                "new_email": _masked(instance.email) or "(aucune)",
                "at": timezone.localtime().strftime("%d/%m/%Y à %H:%M"),
            },
        )


def connect() -> None:
    pre_save.connect(_before_save, sender=Establishment, dispatch_uid="establishment_email_before")
    post_save.connect(_after_save, sender=Establishment, dispatch_uid="establishment_email_after")
