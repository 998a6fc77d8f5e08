"""Staff roles: every creation of an account and every change of its role, superuser or
active flag is recorded (``StaffChange``, before/after) and notified to the supervisors,
whoever makes it and from wherever: the admin, a service, a management command, a shell.
Hooked on the model's signals for that reason (a change through ``QuerySet.update`` is
the only way around them, and no code of the project changes these fields that way).

The author is the request's actor (``worker.context``: ``user:12`` in the admin), or
"hors requête" for a command or a shell.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from worker import context
from worker.services import email_queue

from .models import Role, StaffChange, StaffChangeKind, User

AUDITED_FIELDS = ("role", "is_superuser", "is_active")
OUTSIDE_A_REQUEST = "hors requête"
_LABELS = {"role": "rôle", "is_superuser": "superutilisateur", "is_active": "actif"}


def request_actor() -> tuple[int | None, str]:
    """The acting user's id (when the actor is a staff user) and the actor reference."""
    ref = context.actor() or ""
    actor_id = None
    if ref.startswith("user:"):
        try:
            actor_id = int(ref.split(":", 1)[1])
        except ValueError:
            actor_id = None
    return actor_id, ref or OUTSIDE_A_REQUEST


def _display(field: str, value: Any) -> str:
    if value is None:
        return "—"
    if field == "role":
        return str(Role(value).label) if value in Role.values else str(value)
    return "oui" if value else "non"


def _before_save(sender, instance: User, raw: bool = False, update_fields=None, **kwargs) -> None:
    instance._staff_audit_before = None  # type: ignore[attr-defined]
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(AUDITED_FIELDS):
        return  # a login stamps last_login only: no query for that
    instance._staff_audit_before = (  # type: ignore[attr-defined]
        User.objects.filter(pk=instance.pk).values(*AUDITED_FIELDS).first()
    )


def _after_save(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    after = {field: getattr(instance, field) for field in AUDITED_FIELDS}
    if created:
        changes = {field: [None, value] for field, value in after.items()}
        kind = StaffChangeKind.ACCOUNT_CREATED
    else:
        before = getattr(instance, "_staff_audit_before", None)
        if before is None:
            return
        changes = {f: [before[f], after[f]] for f in AUDITED_FIELDS if before[f] != after[f]}
        if not changes:
            return
        kind = StaffChangeKind.ROLE_CHANGED
    actor_id, actor_ref = request_actor()
    if actor_id is not None and not User.objects.filter(pk=actor_id).exists():
        actor_id = None
    StaffChange.objects.create(
        user=instance,
        user_email=instance.email,
        kind=kind,
        data=changes,
        actor_id=actor_id,
        actor_ref=actor_ref,
        created_at=timezone.now(),
    )
    # A plain agent's creation is routine; any grant of the supervisor or admin role, of
    # the superuser flag, or any change at all to an existing account is told to the
    # supervisors (in the transaction of the change: sent once it commits).
    privileged = after["role"] != Role.AGENT or after["is_superuser"]
    if kind == StaffChangeKind.ACCOUNT_CREATED and not privileged:
        return
    _notify_supervisors(instance, kind, changes, actor_ref)


def _notify_supervisors(user: User, kind: str, changes: dict, actor_ref: str) -> None:
    recipients = User.objects.filter(role=Role.SUPERVISOR, is_active=True).values_list(
        "email", flat=True
    )
    lines = [
        f"- {_LABELS[field]} : {_display(field, before)} → {_display(field, after)}"
        for field, (before, after) in changes.items()
    ]
    for address in recipients:
        email_queue(
            template="staff_role_changed",
            to_email=address,
            context={
                "created": kind == StaffChangeKind.ACCOUNT_CREATED,
                "account": user.email,
                "name": user.get_full_name(),
                "changes": lines,
                "actor": actor_ref,
                "at": timezone.localtime().strftime("%d/%m/%Y à %H:%M"),
            },
        )


def connect() -> None:
    pre_save.connect(_before_save, sender=User, dispatch_uid="staff_change_before")
    post_save.connect(_after_save, sender=User, dispatch_uid="staff_change_after")
