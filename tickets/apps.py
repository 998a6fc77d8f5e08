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
        # Routing is read from a per-process memo at intake: any change to a rule or a queue
        # (services or admin) invalidates it on every node once committed.
        from django.db.models.signals import post_delete, post_save

        from .models import Queue, RoutingRule
        from .services.intake import ROUTES

        for model in (RoutingRule, Queue):
            for signal in (post_save, post_delete):
                signal.connect(
                    lambda **kwargs: _invalidate_now_and_on_commit(ROUTES),
                    sender=model,
                    weak=False,
                    dispatch_uid=f"tickets.routes_memo.{model.__name__}.{signal is post_save}",
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


def _invalidate_now_and_on_commit(memo) -> None:
    """Now (this process, and this transaction's later reads), and again once committed:
    a process that read the old rows under the first new stamp reads them again."""
    from django.db import transaction

    memo.invalidate()
    transaction.on_commit(memo.invalidate)
