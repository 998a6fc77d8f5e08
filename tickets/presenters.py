"""How tickets read to people: one French line per timeline event (pages and the API)."""

from __future__ import annotations

from .models import DocumentKind, EventKind, Status, TicketEvent

# The steps of a reassignment (case 2.1) as its events record them (``data["step"]``).
REASSIGNMENT_STEPS = {
    "prepared": "préparée",
    "approval_recorded": "première approbation (une seconde est requise)",
    "approved": "approuvée",
    "objected": "opposition reçue",
    "applied": "appliquée",
    "rejected": "refusée",
    "cancelled": "annulée",
    "flagged": "signalée",
    "activation_link_resent": "lien d'activation renvoyé",
}


# The e-mails a timeline mentions, as agents call them (never the template's file name).
EMAIL_LABELS = {
    "ticket_acknowledgement": "accusé de réception",
    "ticket_reply": "réponse de l'agent",
    "ticket_followup_link": "nouveau lien de suivi",
    "extranet_account_created": "création de l'espace extranet",
    "extranet_identifiant_reminder": "rappel de l'identifiant",
    "extranet_password_changed": "mot de passe modifié",
    "extranet_password_reset": "lien de réinitialisation du mot de passe",
    "reassignment_activation": "lien d'activation du nouveau titulaire",
    "reassignment_done_requester": "réattribution effectuée, au demandeur",
    "reassignment_notice": "avis de réattribution à l'établissement",
    "establishment_email_changed": "changement de l'adresse de l'établissement",
    "staff_enrolment": "lien d'enrôlement du second facteur",
    "staff_role_changed": "changement de rôle",
}


def describe_event(event: TicketEvent) -> str:
    """One line of the timeline, in French."""
    data = event.data or {}
    if event.kind == EventKind.STATUS_CHANGED:
        before = Status(data["before"]).label if data.get("before") in Status.values else "?"
        after = Status(data["after"]).label if data.get("after") in Status.values else "?"
        suffix = " (action groupée)" if data.get("bulk") else ""
        if data.get("by_requester"):
            suffix = " (réponse du demandeur)"
        return f"Statut : {before} → {after}{suffix}"
    if event.kind == EventKind.ASSIGNED:
        return f"Assigné à {data.get('assignee', '?')}"
    if event.kind == EventKind.ROUTED:
        # The queue's name as it was (recorded since 2026-12); older events hold its slug.
        return (
            f"Routée vers la file «\u00a0{data.get('queue_name') or data.get('queue', '?')}\u00a0»"
        )
    if event.kind == EventKind.REPLY_SENT:
        return f"Réponse envoyée à {data.get('to', 'demandeur')}"
    if event.kind in (
        EventKind.DOCUMENT_RECEIVED,
        EventKind.DOCUMENT_DOWNLOADED,
        EventKind.DOCUMENT_PREVIEWED,
    ):
        return f"{event.get_kind_display()} : {data.get('name', '?')}"
    if event.kind == EventKind.DOCUMENT_REJECTED:
        return f"Document refusé : {data.get('name', '?')} (motif : {data.get('reason', '')})"
    if event.kind == EventKind.DOCUMENTS_REQUESTED:
        kinds = [
            str(DocumentKind(k).label).lower()
            for k in data.get("kinds", [])
            if k in DocumentKind.values
        ]
        return f"Justificatifs demandés : {', '.join(kinds)}"
    if event.kind == EventKind.REQUESTER_REPLIED:
        count = data.get("documents", 0)
        return f"{event.get_kind_display()}" + (f" avec {count} document(s)" if count else "")
    if event.kind == EventKind.REASSIGNMENT:
        step = data.get("step", "")
        text = f"{event.get_kind_display()} : {REASSIGNMENT_STEPS.get(step, step)}"
        if step == "flagged" and data.get("reason"):
            text += f" — {data['reason']}"
        return text
    if event.kind == EventKind.REQUEST_REPEATED:
        via = "l'API extranet" if data.get("source") == "api" else "le formulaire public"
        line = f"Demande identique reçue par {via}"
        if data.get("address_differs"):
            line += " (adresse différente de celle de la demande)"
        return line
    if event.kind in (EventKind.EMAIL_SENT, EventKind.EMAIL_FAILED):
        label = EMAIL_LABELS.get(data.get("template", ""), "courriel")
        return f"{event.get_kind_display()} : {label}"
    return event.get_kind_display()
