from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        # What the outbox needs from the extranet accounts at run time (worker/hooks.py):
        # the worker itself imports no domain code.
        from worker import hooks

        from .extranet import links
        from .staff import receivers as staff_receivers
        from .staff import services as staff_services

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
        hooks.register_link_issuer(
            staff_services.ENROLMENT_LINK_KIND,
            issue=staff_services.staff_enrolment_link_issue,
            sent=staff_services.staff_enrolment_link_sent,
        )
        staff_receivers.connect()
