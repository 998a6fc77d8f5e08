"""Routing rules and queue membership, edited by supervisors, every change recorded with
its before/after values (``RoutingChange``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.staff.models import User
from worker import context as log_context

from ..exceptions import ActionNotAllowed
from ..models import Priority, Queue, RoutingChange, RoutingChangeKind, RoutingRule

logger = logging.getLogger(__name__)


ROUTING_MAX_HOURS = 2000

# Set while ``queue_members_set`` changes a queue's members: it records the change itself,
# so the model-level receiver (``queue_membership_changed``) stays quiet meanwhile.
_membership_audited: ContextVar[bool] = ContextVar("queue_membership_audited", default=False)

ROUTING_RULE_FIELDS = ("queue", "priority", "first_response_hours", "resolution_hours", "is_active")


def _require_supervisor(actor: User) -> None:
    if not (actor.is_active and actor.is_supervisor):
        raise ActionNotAllowed(_("Seuls les superviseurs peuvent modifier le routage."))


def _audit_value(value: Any) -> Any:
    return value.slug if isinstance(value, Queue) else value


def _routing_rule_errors(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("first_response_hours", "resolution_hours"):
        hours = values[name]
        if isinstance(hours, bool) or not isinstance(hours, int):
            errors[name] = [_("Saisissez un nombre entier d'heures ouvrées.")]
        elif hours < 1:
            errors[name] = [_("Le délai doit être d'au moins 1 heure ouvrée.")]
        elif hours > ROUTING_MAX_HOURS:
            errors[name] = [
                _("Le délai ne peut pas dépasser %(max)s heures ouvrées.")
                % {"max": ROUTING_MAX_HOURS}
            ]
    if not errors and values["resolution_hours"] < values["first_response_hours"]:
        errors["resolution_hours"] = [
            _("Le délai de résolution ne peut pas être plus court que celui de première réponse.")
        ]
    if values["priority"] not in Priority.values:
        errors["priority"] = [_("Choisissez une priorité de la liste.")]
    if not isinstance(values["queue"], Queue) or values["queue"].pk is None:
        errors["queue"] = [_("Choisissez une file existante.")]
    if not isinstance(values["is_active"], bool):
        errors["is_active"] = [_("Valeur invalide.")]
    return errors


def routing_rule_update(*, rule: RoutingRule, actor: User, **values: Any) -> RoutingRule:
    """Change a routing rule (queue, priority, SLA targets in business hours, active) and
    record who changed what. The next request of that motif is routed by the new values;
    tickets already open keep theirs. Raises ``ValidationError`` (French messages, keyed
    by field) when a value is refused, ``ActionNotAllowed`` for a non-supervisor."""
    _require_supervisor(actor)
    unknown = set(values) - set(ROUTING_RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown routing rule fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        merged = {name: values.get(name, getattr(locked, name)) for name in ROUTING_RULE_FIELDS}
        errors = _routing_rule_errors(merged)
        if errors:
            raise ValidationError(errors)
        changes = {}
        for name in ROUTING_RULE_FIELDS:
            before, after = getattr(locked, name), merged[name]
            if before != after:
                changes[name] = [_audit_value(before), _audit_value(after)]
                setattr(locked, name, after)
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
            RoutingChange.objects.create(
                kind=RoutingChangeKind.RULE_UPDATED,
                actor=actor,
                rule=locked,
                queue=locked.queue,
                data={"motif": locked.motif, "changes": changes},
                created_at=timezone.now(),
            )
    if changes:
        logger.info("Routing rule %s changed by %s: %s", locked.motif, actor.pk, sorted(changes))
    return locked


def queue_members_set(
    *, queue: Queue, actor: User, user_ids: Iterable[int | str]
) -> dict[str, list[int]]:
    """Make ``user_ids`` the agents of ``queue`` (adding and removing the difference) and
    record who changed what. An agent sees a queue's tickets only while a member."""
    _require_supervisor(actor)
    wanted = {int(pk) for pk in user_ids}
    users = User.objects.filter(pk__in=wanted, is_active=True)
    found = set(users.values_list("pk", flat=True))
    if found != wanted:
        raise ValidationError(
            {"members": [_("Un des agents choisis n'existe pas ou n'est plus actif.")]}
        )
    with transaction.atomic():
        # Lock the queue row: two supervisors saving at once apply one after the other.
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        current = set(locked.members.values_list("pk", flat=True))
        added, removed = sorted(wanted - current), sorted(current - wanted)
        token = _membership_audited.set(True)
        try:
            if added:
                locked.members.add(*added)
            if removed:
                locked.members.remove(*removed)
        finally:
            _membership_audited.reset(token)
        if added or removed:
            RoutingChange.objects.create(
                kind=RoutingChangeKind.QUEUE_MEMBERS_SET,
                actor=actor,
                queue=locked,
                data={
                    "queue": locked.slug,
                    "added": added,
                    "removed": removed,
                    # E-mail addresses as they were: the history stays readable later.
                    "emails": dict(
                        User.objects.filter(pk__in=[*added, *removed]).values_list("pk", "email")
                    ),
                },
                created_at=timezone.now(),
            )
    return {"added": added, "removed": removed}


def queue_membership_changed(
    sender: Any,
    *,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """``m2m_changed`` of ``Queue.members``: a membership changed outside
    ``queue_members_set`` (a shell, a command, ``user.queues.add``...) is recorded all the
    same, with the request's actor when there is one ("hors requête" otherwise)."""
    if _membership_audited.get() or action not in ("post_add", "post_remove", "pre_clear"):
        return
    if action == "pre_clear":
        pk_set = set(
            instance.queues.values_list("pk", flat=True)
            if reverse
            else instance.members.values_list("pk", flat=True)
        )
    if not pk_set:
        return
    pairs = (
        [(queue_id, instance.pk) for queue_id in pk_set]
        if reverse
        else [(instance.pk, user_id) for user_id in pk_set]
    )
    actor_ref = log_context.actor() or "hors requête"
    actor_id = (
        int(actor_ref[5:]) if actor_ref.startswith("user:") and actor_ref[5:].isdigit() else None
    )
    if actor_id is not None and not User.objects.filter(pk=actor_id).exists():
        actor_id = None
    by_queue: dict[int, list[int]] = {}
    for queue_id, user_id in pairs:
        by_queue.setdefault(queue_id, []).append(user_id)
    emails = dict(User.objects.filter(pk__in=[u for _q, u in pairs]).values_list("pk", "email"))
    added = action == "post_add"
    for queue in Queue.objects.filter(pk__in=by_queue):
        users = sorted(by_queue[queue.pk])
        RoutingChange.objects.create(
            kind=RoutingChangeKind.QUEUE_MEMBERS_SET,
            actor_id=actor_id,
            queue=queue,
            data={
                "queue": queue.slug,
                "added": users if added else [],
                "removed": [] if added else users,
                "emails": {str(pk): emails.get(pk, "") for pk in users},
                "actor_ref": actor_ref,
                "outside_service": True,
            },
            created_at=timezone.now(),
        )
