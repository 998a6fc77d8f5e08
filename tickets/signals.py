"""Hooks for the apps above tickets. Tickets sends them; it never imports their receivers.

``ticket_created(sender=Ticket, ticket=…)``: sent by the intake inside the transaction that
creates the ticket (receivers write in that transaction; an exception rolls the intake back).
"""

from django.dispatch import Signal

ticket_created = Signal()
