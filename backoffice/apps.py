from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back-office"

    def ready(self):
        # Registers the login-time stamp used by the session expiry middleware.
        from . import middleware  # noqa: F401
