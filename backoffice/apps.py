from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back-office"

    def ready(self) -> None:
        # Imported here, not at module level: an AppConfig may not import models at load.
        from tickets.signals import ticket_created

        from . import middleware  # noqa: F401 - registers the login-time stamp
        from .notices.services import on_ticket_created

        # New tickets are linked to the live notices of their motif (tickets does not know
        # the notices; it sends the signal from the intake's transaction).
        ticket_created.connect(on_ticket_created, dispatch_uid="notices.link_new_ticket")
