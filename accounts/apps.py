from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        # What the outbox needs from the extranet accounts at run time (worker/hooks.py):
        # the worker itself imports no domain code.
        from worker import hooks

        from .extranet import links

        hooks.register_job(
            links.RECOVERY_REQUEST_JOB,
            links.recovery_request_process,
            retain=links.REQUEST_RETENTION,
        )
        for kind in ("recovery", "objection"):
            hooks.register_link_issuer(
                kind,
                issue=lambda spec: links.secret_link_issue(spec=spec),
                sent=lambda spec: links.secret_link_sent(spec=spec),
            )
        # import_sirene closing an establishment flags the reassignments in progress on
        # it (establishments, below us, only sends the signal).
        from establishments.signals import registry_closed

        from .extranet.reassignment import reassignments_flag_closed

        registry_closed.connect(
            lambda sender, sirets, **kwargs: reassignments_flag_closed(sirets=sirets),
            dispatch_uid="reassignments_flag_closed",
            weak=False,
        )
