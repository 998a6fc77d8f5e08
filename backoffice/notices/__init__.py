"""Incident notices (S9): agents write, schedule, publish and withdraw banners; beat
publishes and expires them on time; every public page, the back-office and the API show
the live ones. New tickets of an affected motif are linked to the live notices, so that one
reply can answer them all. Above ``tickets``: notices know tickets, never the reverse
(the link is made by a receiver of ``tickets.signals.ticket_created``)."""
