"""Test settings: the real settings, with what tests need changed and nothing else."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("APP_ENV", "test")

from .settings import *  # noqa: E402,F403
from .settings import TEMPLATES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline, at the moment the real ones would be handed to the broker (on commit).
# Tests that need the real worker start one (tests/worker/test_real_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Documents go to a folder of this test run, never to var/ (removed at exit).
_documents_dir = tempfile.mkdtemp(prefix="apsupport-test-documents-")
atexit.register(shutil.rmtree, _documents_dir, ignore_errors=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": _documents_dir},
    },
}
CAPTCHA_TEST_MODE = False
# An undefined variable in a template is a bug: make it visible in tests.
TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = "!!MISSING %s!!"
TEMPLATES[1]["OPTIONS"]["string_if_invalid"] = "!!MISSING %s!!"

# django-zeal: every request a test makes fails on an N+1 query (the same query repeated
# per row from one line of code), so a list page that loses a select_related is caught
# by whatever test loads it, not only by the query-count tests.
from .settings import INSTALLED_APPS, MIDDLEWARE  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "zeal"]
MIDDLEWARE = ["zeal.middleware.zeal_middleware", *MIDDLEWARE]
ZEAL_RAISE = True
