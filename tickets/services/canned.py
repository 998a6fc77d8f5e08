"""Canned replies ("réponses types"), managed by supervisors per queue and motif; agents
insert them on the ticket page (``tickets.selectors.canned_replies_for_ticket``) and their
use is counted when the reply is sent (``tickets.services.work.ticket_reply``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..canned import placeholders_check
from ..exceptions import ActionNotAllowed
from ..models import CannedReply, Motif, Queue

if TYPE_CHECKING:
    from accounts.staff.models import User

TITLE_MAX = 120
BODY_MAX = 5000


def _require_supervisor(actor: User) -> None:
    if not (actor.is_active and actor.is_supervisor):
        raise ActionNotAllowed(_("Seuls les superviseurs gèrent les réponses types."))


def _clean(*, queue: Queue, motif: str, title: str, body: str) -> tuple[str, str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Donnez un titre à la réponse type.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("Au plus %(max)s caractères.") % {"max": TITLE_MAX}]
    if not body:
        errors["body"] = [_("Le texte de la réponse type est vide.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("Au plus %(max)s caractères.") % {"max": BODY_MAX}]
    else:
        try:
            placeholders_check(body)
        except ValidationError as exc:
            errors["body"] = list(exc.messages)
    if motif and motif not in Motif.values:
        errors["motif"] = [_("Motif inconnu.")]
    if queue is None or queue.pk is None:
        errors["queue"] = [_("Choisissez une file.")]
    if errors:
        raise ValidationError(errors)
    return motif or "", title, body


def canned_reply_create(
    *, actor: User, queue: Queue, motif: str, title: str, body: str
) -> CannedReply:
    _require_supervisor(actor)
    motif, title, body = _clean(queue=queue, motif=motif, title=title, body=body)
    now = timezone.now()
    return CannedReply.objects.create(
        queue=queue,
        motif=motif,
        title=title,
        body=body,
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )


def canned_reply_update(
    *,
    canned_reply: CannedReply,
    actor: User,
    queue: Queue,
    motif: str,
    title: str,
    body: str,
    is_active: bool,
) -> CannedReply:
    _require_supervisor(actor)
    motif, title, body = _clean(queue=queue, motif=motif, title=title, body=body)
    with transaction.atomic():
        locked = CannedReply.objects.select_for_update().get(pk=canned_reply.pk)
        locked.queue = queue
        locked.motif = motif
        locked.title = title
        locked.body = body
        locked.is_active = is_active
        locked.updated_by = actor
        locked.updated_at = timezone.now()
        locked.save(
            update_fields=[
                "queue",
                "motif",
                "title",
                "body",
                "is_active",
                "updated_by",
                "updated_at",
            ]
        )
    return locked


def canned_reply_set_active(
    *, canned_reply: CannedReply, actor: User, is_active: bool
) -> CannedReply:
    """Deactivate (no longer offered to agents, kept with its count) or reactivate."""
    _require_supervisor(actor)
    CannedReply.objects.filter(pk=canned_reply.pk).update(
        is_active=is_active, updated_by=actor, updated_at=timezone.now()
    )
    canned_reply.refresh_from_db()
    return canned_reply
