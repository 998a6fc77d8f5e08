from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "worker"
    verbose_name = "Tâches de fond"

    def ready(self) -> None:
        # Here and not at import: the receivers use the models. Every process that loads
        # Django (web, worker, beat) stamps its log records with the request context and
        # listens to Celery's signals.
        from django.core.signals import request_finished, request_started

        from . import context, memo, telemetry

        context.install_log_record_factory()
        telemetry.connect()
        request_started.connect(memo.request_begin, dispatch_uid="worker.memo.request_begin")
        request_finished.connect(memo.request_end, dispatch_uid="worker.memo.request_end")
