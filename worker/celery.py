"""The Celery application: ``celery -A worker worker`` and ``celery -A worker beat``.

The broker is Redis in production and, with nothing configured, a folder of files under
``var/`` so that one machine runs everything (see backoffice/settings.py).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("apsupport")
app.config_from_object("django.conf:settings", namespace="CELERY")
# ``<app>/tasks.py`` of every installed app, plus the sub-packages' task modules listed in
# ``CELERY_IMPORTS``. The beat schedule is the project's (``CELERY_BEAT_SCHEDULE`` in
# backoffice/settings.py): this package knows no domain.
app.autodiscover_tasks()
app.conf.beat_schedule_filename = os.environ.get("CELERY_BEAT_SCHEDULE_FILE", "")
