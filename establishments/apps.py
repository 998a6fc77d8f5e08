from django.apps import AppConfig


class EstablishmentsConfig(AppConfig):
    name = "establishments"
    verbose_name = "Établissements"

    def ready(self) -> None:
        # The e-mail on record: its changes are recorded and told to the previous address.
        from . import receivers

        receivers.connect()
