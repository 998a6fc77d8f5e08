"""The Celery application: ``celery -A worker worker`` and ``celery -A worker beat``.

The broker is Redis in production and, with nothing configured, a folder of files under
``var/`` so that one machine runs everything (see backoffice/settings.py).
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("apsupport")
app.config_from_object("django.conf:settings", namespace="CELERY")
# ``<app>/tasks.py`` of every installed app, plus the sub-packages' task modules listed in
# ``CELERY_IMPORTS``. The beat schedule is the project's (``CELERY_BEAT_SCHEDULE`` in
# backoffice/settings.py): this package knows no domain.
app.autodiscover_tasks()
app.conf.beat_schedule_filename = os.environ.get("CELERY_BEAT_SCHEDULE_FILE", "")


@setup_logging.connect
def _django_logging(loglevel: Any = None, **_: Any) -> None:
    """Workers and beat log as the web does (``LOGGING``: JSON lines in production, with
    the request id and the task), instead of Celery's own format. ``--loglevel`` still
    sets the level."""
    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
