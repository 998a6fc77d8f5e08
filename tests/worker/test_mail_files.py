"""The development e-mail files under var/mail/ are named by time, kind and recipient."""

from __future__ import annotations

import email
import re

import pytest
from django.core.mail import EmailMessage

from tests.worker.test_outbox import queue_one
from worker import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_dir(settings, tmp_path):
    settings.EMAIL_BACKEND = "worker.mail_backends.NamedFileEmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    return tmp_path


def test_an_outbox_email_file_says_its_kind_and_recipient(
    mail_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_one()
    assert services.email_deliver(email_id=row.pk) is False  # already sent on commit
    [path] = list(mail_dir.iterdir())
    assert re.fullmatch(
        rf"\d{{8}}-\d{{6}}-ticket_acknowledgement-{re.escape(row.to_email)}-{row.pk}\.eml",
        path.name,
    )
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == row.to_email
    assert message["Subject"]


def test_each_message_gets_its_own_file_and_odd_addresses_are_made_safe(mail_dir):
    EmailMessage("Sujet", "Corps", to=["Léa <lea/../martin@exemple.fr>"]).send()
    EmailMessage("Sujet", "Corps", to=["paul@exemple.fr"]).send()
    names = sorted(p.name for p in mail_dir.iterdir())
    assert len(names) == 2
    assert all("/" not in n and ".." not in n.removesuffix(".eml") for n in names)
    assert any("-courriel-paul@exemple.fr-" in n for n in names)
