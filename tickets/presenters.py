"""How tickets read to people: one French line per timeline event (pages and the API)."""

from __future__ import annotations

from .models import EventKind, Status, TicketEvent


def describe_event(event: TicketEvent) -> str:
    """One line of the timeline, in French."""
    data = event.data or {}
    if event.kind == EventKind.STATUS_CHANGED:
        before = Status(data["before"]).label if data.get("before") in Status.values else "?"
        after = Status(data["after"]).label if data.get("after") in Status.values else "?"
        suffix = " (action groupée)" if data.get("bulk") else ""
        return f"Statut : {before} → {after}{suffix}"
    if event.kind == EventKind.ASSIGNED:
        return f"Assigné à {data.get('assignee', '?')}"
    if event.kind == EventKind.ROUTED:
        return f"Routée vers la file « {data.get('queue', '?')} »"
    if event.kind == EventKind.REPLY_SENT:
        return f"Réponse envoyée à {data.get('to', 'demandeur')}"
    if event.kind in (EventKind.EMAIL_SENT, EventKind.EMAIL_FAILED):
        return f"{event.get_kind_display()} ({data.get('template', '')})"
    return event.get_kind_display()
