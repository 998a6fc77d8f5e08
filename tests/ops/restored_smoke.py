"""The smoke subset the backup/restore drill (test_backup_restore.py) runs against a
restored copy, in a pytest process of its own pointed at it (DATABASE_URL, MEDIA_ROOT).

Not collected by ``make test`` (not a ``test_*.py`` file) and skipped unless the drill
sets RESTORE_DRILL_MANIFEST. Each test runs in a transaction that is rolled back: the
restored copy is read, never changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.staff.models import User
from backoffice.management.commands.seed_demo import DEMO_API_KEY, DEMO_PASSWORD
from backoffice.ops.backup import figures
from tickets.models import Ticket

MANIFEST = os.environ.get("RESTORE_DRILL_MANIFEST", "")
pytestmark = [
    pytest.mark.skipif(not MANIFEST, reason="run by the backup/restore drill only"),
    pytest.mark.django_db,
]


@pytest.fixture(scope="session")
def django_db_setup():
    """The restored database as it is: no test database is created."""


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(Path(MANIFEST).read_text())


def test_it_is_the_restored_copy_not_a_test_database(manifest):
    assert connection.settings_dict["NAME"] == os.environ["RESTORE_DRILL_DATABASE_NAME"]


def test_every_migration_is_applied():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_the_figures_are_those_of_the_backup(manifest):
    assert figures() == manifest["figures"]
    assert manifest["figures"]["tickets"] > 0


def test_the_documents_are_back():
    assert default_storage.open("drill/preuve.txt").read() == b"Extrait Kbis de la boulangerie.\n"


def test_the_demo_agent_logs_in_and_opens_a_queue_with_its_tickets(client, settings):
    agent = User.objects.get(email="agent@demo.asp.fr")
    # The password hash came back intact. (The test settings know only a fast hasher; the
    # copy's hashes were made by whichever settings seeded it.)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert agent.check_password(DEMO_PASSWORD)
    device = TOTPDevice.objects.get(user=agent, confirmed=True)
    client.force_login(agent)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.get("/backoffice/files/habilitation/")
    assert response.status_code == 200
    reference = Ticket.objects.filter(queue__slug="habilitation").values_list(
        "reference", flat=True
    )[0]
    assert reference in response.content.decode()


def test_a_new_request_is_taken_in_through_the_api(client):
    before = Ticket.objects.count()
    response = client.post(
        "/api/v1/assistance-requests",
        data=json.dumps(
            {
                "siret": "73282932000074",
                "denomination": "Boulangerie du Marché",
                "requester_name": "Claire Dupont",
                "phone": "01 02 03 04 05",
                "email": "exercice.restauration@exemple.fr",
                "motif": "autres",
                "description": "Exercice de restauration.",
            }
        ),
        content_type="application/json",
        HTTP_X_API_KEY=DEMO_API_KEY,  # the key's hash came back intact
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.count() == before + 1
