"""seed_demo: the demo incident notice (scheduled, then live) and hints that are true."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.extranet.models import ExtranetAccount
from backoffice.notices.models import IncidentNotice, NoticeState
from backoffice.notices.services import notices_sweep
from establishments.towns import postal_code_towns
from tests.factories import EstablishmentFactory, ExtranetAccountFactory, TicketFactory

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_schedules_the_source_incident_notice_which_the_sweep_then_publishes(settings):
    settings.SITE_BASE_URL = "http://127.0.0.1:41234"
    out = seed()
    notice = IncidentNotice.objects.get()
    assert notice.state == NoticeState.SCHEDULED
    assert notice.text.startswith("Un incident technique s'est produit sur l'extranet")
    assert timezone.now() < notice.starts_at <= timezone.now() + timedelta(minutes=1)
    assert f"http://127.0.0.1:41234/backoffice/bandeaux/{notice.pk}/" in out
    assert "programmé, publié par le worker à" in out
    assert "Un incident technique" not in Client().get(reverse("home")).content.decode()

    notices_sweep(now=notice.starts_at + timedelta(seconds=1))
    notice.refresh_from_db()
    assert notice.state == NoticeState.PUBLISHED
    with freeze_time(notice.starts_at + timedelta(seconds=2)):
        page = Client().get(reverse("home")).content.decode()
    assert "Un incident technique s&#x27;est produit" in page

    # Idempotent: a second start keeps the live notice instead of adding one.
    seed()
    assert IncidentNotice.objects.count() == 1


def test_the_hints_name_the_right_password_and_address(settings):
    settings.SITE_BASE_URL = "http://127.0.0.1:41234"
    seed()
    created = ExtranetAccountFactory(
        establishment=EstablishmentFactory(siret="90830166600016"),
        holder_email="lea.martin@exemple.fr",
        password="",  # as "Créer mon espace" leaves it until the activation link is used
    )
    out = seed()
    assert "Back-office : http://127.0.0.1:41234/backoffice/" in out
    assert "http://127.0.0.1:8000" not in out
    assert ".venv/bin/python manage.py demo_totp" in out
    demo_block, _, others_block = out.partition("créés ou réattribués pendant la démonstration")
    assert created.identifiant not in demo_block
    assert f"{created.identifiant}  90830166600016  lea.martin@exemple.fr" in others_block
    # The demo password is given to the seeded accounts only, never to the new one.
    created.refresh_from_db()
    assert created.password == ""
    for account in ExtranetAccount.objects.exclude(pk=created.pk):
        assert account.identifiant in demo_block
        assert account.check_password("Demo-Extranet-Ancien-2026")


def test_it_fills_the_towns_of_the_postal_codes():
    seed()
    assert postal_code_towns(postal_code="69007") == ["LYON"]


def test_it_adds_two_saved_views_one_shared_with_habilitation(verified_client):
    from accounts.staff.models import User
    from backoffice.savedviews.models import SavedView

    seed()
    seed()  # idempotent
    assert SavedView.objects.count() == 2
    shared = SavedView.objects.get(shared_with__slug="habilitation")
    assert shared.owner.email == "superviseur@demo.asp.fr"
    # Bruno (Habilitation) sees the shared view, not Alice's own.
    bruno = verified_client(User.objects.get(email="agent2@demo.asp.fr"))
    menu = bruno.get("/backoffice/vues/", HTTP_HX_REQUEST="true").content.decode()
    assert "Nouveaux non assignés" in menu and "urgentes d&#x27;abord" not in menu
    assert bruno.get(reverse("backoffice:saved_view", args=[shared.pk])).status_code == 200


def test_the_demo_has_four_habilitation_canned_replies_that_fill(settings):
    from tickets.canned import canned_reply_fill, placeholders_unknown
    from tickets.models import CannedReply, Motif

    seed()
    seed()  # idempotent
    replies = list(CannedReply.objects.filter(queue__slug="habilitation", is_active=True))
    assert len(replies) == 4
    assert {r.motif for r in replies} == {Motif.HABILITATION_EXTRANET}
    for reply in replies:
        assert placeholders_unknown(reply.body) == []
        assert "{demandeur}" in reply.body
    ticket = TicketFactory(requester_name="Claire Dupont", reference="AP-2026-000042")
    filled = canned_reply_fill(replies[0].body, ticket=ticket)
    assert "Claire Dupont" in filled and "{demandeur}" not in filled
