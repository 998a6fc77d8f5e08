from datetime import timedelta

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Demandes d'assistance"

    def ready(self) -> None:
        # What the outbox needs from tickets at run time (worker/hooks.py): the worker
        # itself imports no domain code.
        from worker import hooks

        from . import documents, followup, receivers

        hooks.email_sent.connect(receivers.on_email_sent, dispatch_uid="tickets.email_sent")
        hooks.email_failed.connect(receivers.on_email_failed, dispatch_uid="tickets.email_failed")
        # The requester's follow-up link: its token is drawn when the e-mail leaves.
        hooks.register_link_issuer(
            followup.LINK_KIND,
            issue=lambda spec: followup.followup_link_issue(spec=spec),
            sent=lambda spec: followup.followup_link_sent(spec=spec),
        )
        # A document's preview is rendered by the worker, never in the web process.
        hooks.register_job(
            documents.PREVIEW_JOB, documents.document_preview_render, retain=timedelta(days=7)
        )
        # Queue membership changed outside the services is recorded too.
        from django.db.models.signals import m2m_changed

        from .models import Queue
        from .services.routing import queue_membership_changed

        m2m_changed.connect(
            queue_membership_changed,
            sender=Queue.members.through,
            dispatch_uid="tickets.queue_membership_changed",
        )
