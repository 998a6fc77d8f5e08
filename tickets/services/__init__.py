"""Writes on tickets, one module per concern. Each public function runs in one
transaction, records its timeline events in that transaction, and fires side effects
(e-mails) only on commit.

* ``events``: the timeline (``ticket_event_record``);
* ``intake``: a new request becomes a ticket (routing, repeat rule, acknowledgement);
* ``work``: status machine, assignment, notes, replies, bulk actions;
* ``sla``: the SLA clock's pauses and the breach sweep;
* ``canned``: canned replies (supervisors), inserted by agents on the ticket page;
* ``routing``: routing rules and queue membership (supervisors);
* ``retention``: erasure of personal data past the retention period;
* ``requester``: what the requester sends from the follow-up page or through the API
  (answers and documents).
"""

from .canned import canned_reply_create, canned_reply_set_active, canned_reply_update
from .events import ticket_event_record
from .intake import IntakeResult, Route, assistance_request_submit, route_for_motif
from .retention import ANONYMIZED, tickets_anonymize_expired
from .routing import ROUTING_MAX_HOURS, queue_members_set, routing_rule_update
from .sla import sla_breaches_mark
from .work import (
    BULK_MAX,
    ticket_assign,
    ticket_bulk_assign,
    ticket_bulk_change_status,
    ticket_change_status,
    ticket_claim,
    ticket_mark_read,
    ticket_note_add,
    ticket_reply,
    ticket_request_documents,
    ticket_status_move,
    ticket_take_next,
)

__all__ = [
    "ANONYMIZED",
    "BULK_MAX",
    "ROUTING_MAX_HOURS",
    "IntakeResult",
    "Route",
    "assistance_request_submit",
    "canned_reply_create",
    "canned_reply_set_active",
    "canned_reply_update",
    "queue_members_set",
    "route_for_motif",
    "routing_rule_update",
    "sla_breaches_mark",
    "ticket_assign",
    "ticket_bulk_assign",
    "ticket_bulk_change_status",
    "ticket_change_status",
    "ticket_claim",
    "ticket_event_record",
    "ticket_mark_read",
    "ticket_note_add",
    "ticket_reply",
    "ticket_request_documents",
    "ticket_status_move",
    "ticket_take_next",
    "tickets_anonymize_expired",
]
