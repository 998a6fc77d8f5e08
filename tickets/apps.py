from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Demandes d'assistance"

    def ready(self) -> None:
        from worker import hooks

        from . import receivers

        hooks.email_sent.connect(receivers.on_email_sent, dispatch_uid="tickets.email_sent")
        hooks.email_failed.connect(receivers.on_email_failed, dispatch_uid="tickets.email_failed")
