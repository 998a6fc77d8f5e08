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
        # Any change to an API key (the admin included) reaches every process's memo, once
        # committed (invalidated earlier, a process could read the old row again under the
        # new stamp).
        from django.db.models.signals import post_delete, post_save

        from .staff.models import ApiKey
        from .staff.services import API_KEYS

        for signal in (post_save, post_delete):
            signal.connect(
                lambda **kwargs: _invalidate_now_and_on_commit(API_KEYS),
                sender=ApiKey,
                weak=False,
                dispatch_uid=f"accounts.api_keys_memo.{signal is post_save}",
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
        # A change to a second-factor device reaches every session's next request.
        from .staff import second_factor

        second_factor.connect()
        # import_sirene closing an establishment flags the reassignments in progress on
        # it (establishments, below us, only sends the signal).
        from establishments.signals import registry_closed

        from .extranet.reassignment import reassignments_flag_closed

        registry_closed.connect(
            lambda sender, sirets, **kwargs: reassignments_flag_closed(sirets=sirets),
            dispatch_uid="reassignments_flag_closed",
            weak=False,
        )


def _invalidate_now_and_on_commit(memo) -> None:
    """Now (this process, and this transaction's later reads), and again once committed:
    a process that read the old rows under the first new stamp reads them again."""
    from django.db import transaction

    memo.invalidate()
    transaction.on_commit(memo.invalidate)
