"""Signals the registry sends to the apps above it (establishments imports none of them)."""

from django.dispatch import Signal

# Sent by ``import_sirene`` (``establishments.services.registry_import``) inside the
# transaction of a batch, with ``sirets``: the establishments the registry now says are
# closed (état administratif « F ») and were not before. ``accounts.extranet`` flags the
# reassignments in progress on them.
registry_closed = Signal()
