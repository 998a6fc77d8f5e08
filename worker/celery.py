"""The Celery application: ``celery -A worker worker`` and ``celery -A worker beat``.

The broker is Redis in production and, with nothing configured, a folder of files under
``var/`` so that one machine runs everything (see backoffice/settings.py).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("apsupport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["worker", "accounts.extranet"])

# One beat process runs these. Every sweep is idempotent and bounded, so a missed or a
# repeated run does no harm.
app.conf.beat_schedule = {
    "outbox-sweep": {"task": "worker.tasks.outbox_sweep", "schedule": 30.0},
    # Notices must go up and down within a minute of their start and end.
    "notices-sweep": {"task": "worker.tasks.notices_sweep", "schedule": 30.0},
    "sla-breaches": {"task": "worker.tasks.sla_breaches_mark", "schedule": 60.0},
    "dashboard-refresh": {"task": "worker.tasks.dashboard_refresh", "schedule": 60.0},
    "tickets-anonymize": {
        "task": "worker.tasks.tickets_anonymize_expired",
        "schedule": crontab(hour=3, minute=17),
    },
    # "J'ai oublié…" requests the broker never got (it was down) are handed over again.
    "recovery-requests-sweep": {
        "task": "accounts.extranet.tasks.recovery_requests_sweep",
        "schedule": 30.0,
    },
    # Records the expiry of recovery links (validity itself is checked at use).
    "recovery-links-expire": {
        "task": "accounts.extranet.tasks.recovery_links_expire_sweep",
        "schedule": 60.0,
    },
    # Applies approved account reassignments once their waiting period is over.
    "reassignments-apply": {
        "task": "accounts.extranet.tasks.reassignments_apply_due",
        "schedule": 30.0,
    },
}
app.conf.beat_schedule_filename = os.environ.get("CELERY_BEAT_SCHEDULE_FILE", "")
