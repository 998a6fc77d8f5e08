"""Supervisors edit routing rules and queue membership; a preview shows where a sample
request would go. Every change goes through a service that records who changed what."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from freezegun import freeze_time

from tests.factories import EstablishmentFactory, UserFactory
from tickets.business_hours import PARIS, add_business_time
from tickets.exceptions import ActionNotAllowed
from tickets.forms import AssistanceRequestForm
from tickets.models import (
    Motif,
    Priority,
    Queue,
    RoutingChange,
    RoutingChangeKind,
    RoutingRule,
    Source,
)
from tickets.services import assistance_request_submit, queue_members_set, routing_rule_update
from worker.audit import AppendOnlyError

pytestmark = pytest.mark.django_db

HOME = "/backoffice/routage/"
PREVIEW = "/backoffice/routage/apercu/"
OPENING = {day: [("09:00", "17:00")] for day in range(5)}

# The changes written by the routing services (with their actor). Memberships the fixtures
# set up directly are recorded too, without an actor (tickets.services.routing
# .queue_membership_changed): they are not what these tests look at.
SERVICE_CHANGES = RoutingChange.objects.filter(actor__isnull=False)


def rule_url(rule):
    return reverse("backoffice:routing_rule_edit", args=[rule.pk])


def members_url(slug):
    return reverse("backoffice:routing_queue_members", args=[slug])


def text(response) -> str:
    """The page's text: tags removed, entities decoded, white space collapsed."""
    raw = response.content.decode()
    assert "!!MISSING" not in raw
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


@pytest.fixture
def autres_rule(db):
    return RoutingRule.objects.select_related("queue").get(motif=Motif.AUTRES)


def test_url_names():
    assert reverse("backoffice:routing") == HOME
    assert reverse("backoffice:routing_preview") == PREVIEW
    assert members_url("general") == "/backoffice/routage/files/general/agents/"


# --- permissions ---------------------------------------------------------------------


def test_agent_is_refused_everywhere(agent, autres_rule, verified_client):
    client = verified_client(agent)
    for url in (HOME, PREVIEW + "?motif=autres", rule_url(autres_rule), members_url("general")):
        assert client.get(url).status_code == 403, url
    response = client.post(
        rule_url(autres_rule),
        {
            "queue": Queue.objects.get(slug="habilitation").pk,
            "priority": 40,
            "first_response_hours": 1,
            "resolution_hours": 2,
            "is_active": "on",
        },
    )
    assert response.status_code == 403
    assert client.post(members_url("general"), {"members": [agent.pk]}).status_code == 403
    autres_rule.refresh_from_db()
    assert autres_rule.queue.slug == "general"
    assert not Queue.objects.get(slug="general").members.filter(pk=agent.pk).exists()
    assert not SERVICE_CHANGES.exists()


def test_without_second_factor_is_sent_to_the_code_page(supervisor):
    client = Client()
    client.force_login(supervisor)
    response = client.get(HOME)
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_supervisor_and_admin_see_the_rules(supervisor, admin_user, verified_client):
    for user in (supervisor, admin_user):
        response = verified_client(user).get(HOME)
        body, raw = text(response), response.content.decode()
        for rule in RoutingRule.objects.select_related("queue"):
            assert rule.get_motif_display() in body
            assert rule_url(rule) in raw
        assert members_url("general") in raw


def test_services_refuse_agents(agent, autres_rule):
    with pytest.raises(ActionNotAllowed):
        routing_rule_update(rule=autres_rule, actor=agent, priority=Priority.URGENT)
    with pytest.raises(ActionNotAllowed):
        queue_members_set(queue=autres_rule.queue, actor=agent, user_ids=[agent.pk])


# --- rule edits ----------------------------------------------------------------------


def _intake(motif: str):
    form = AssistanceRequestForm(
        data={
            "siret": "732 829 320 00074",
            "denomination": "Boulangerie du Marché",
            "requester_name": "Claire Dupont",
            "phone": "01 02 03 04 05",
            "email": "claire@exemple.fr",
            "motif": motif,
            "description": "Une question.",
        }
    )
    assert form.is_valid(), form.errors
    return assistance_request_submit(data=form.cleaned_data, source=Source.FORM).ticket


@override_settings(SLA_OPENING_HOURS=OPENING)
@freeze_time(datetime(2026, 6, 3, 10, 0, tzinfo=PARIS))
def test_rule_edit_changes_the_routing_of_the_next_intake(supervisor, autres_rule, verified_client):
    before = _intake(Motif.AUTRES)
    assert before.queue.slug == "general"
    hab = Queue.objects.get(slug="habilitation")
    response = verified_client(supervisor).post(
        rule_url(autres_rule),
        {
            "queue": hab.pk,
            "priority": Priority.URGENT,
            "first_response_hours": 2,
            "resolution_hours": 10,
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == HOME
    # A different requester (the first ticket is still open for the same e-mail).
    form = AssistanceRequestForm(
        data={
            "siret": "526 018 155 00014",
            "denomination": "Garage",
            "requester_name": "Paul Roy",
            "phone": "01 02 03 04 06",
            "email": "paul@exemple.fr",
            "motif": Motif.AUTRES,
            "description": "Autre question.",
        }
    )
    assert form.is_valid()
    ticket = assistance_request_submit(data=form.cleaned_data, source=Source.FORM).ticket
    assert ticket.queue == hab
    assert ticket.priority == Priority.URGENT
    # Wednesday 10:00 + 2 business hours = 12:00; + 10 h = Thursday 12:00 (9-17 days).
    assert ticket.sla_first_response_due == datetime(2026, 6, 3, 12, 0, tzinfo=PARIS)
    assert ticket.sla_resolution_due == datetime(2026, 6, 4, 12, 0, tzinfo=PARIS)
    before.refresh_from_db()
    assert before.queue.slug == "general"  # open tickets keep their routing
    change = SERVICE_CHANGES.get()
    assert change.kind == RoutingChangeKind.RULE_UPDATED
    assert change.actor == supervisor and change.rule == autres_rule
    assert change.data["changes"] == {
        "queue": ["general", "habilitation"],
        "priority": [Priority.NORMAL, Priority.URGENT],
        "first_response_hours": [autres_rule.first_response_hours, 2],
        "resolution_hours": [autres_rule.resolution_hours, 10],
    }
    # The history on the routing page says who changed what.
    body = text(verified_client(supervisor).get(HOME))
    assert "Règle de routage modifiée" in body and "priorité : Normale → Urgente" in body
    assert f"{supervisor}" in body


def test_saving_an_unchanged_rule_records_nothing(supervisor, autres_rule):
    routing_rule_update(rule=autres_rule, actor=supervisor, priority=autres_rule.priority)
    assert not SERVICE_CHANGES.exists()


def test_deactivated_rule_sends_requests_to_the_default_queue(supervisor):
    rule = RoutingRule.objects.get(motif=Motif.CERTIFICAT_SIGNATURE)
    routing_rule_update(rule=rule, actor=supervisor, is_active=False)
    ticket = _intake(Motif.CERTIFICAT_SIGNATURE)
    assert ticket.queue == Queue.objects.get(is_default=True)
    assert ticket.sla_first_response_due is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"first_response_hours": "-3"},
            "first_response_hours",
            "Le délai doit être d'au moins 1 heure ouvrée.",
        ),
        (
            {"resolution_hours": "0"},
            "resolution_hours",
            "Le délai doit être d'au moins 1 heure ouvrée.",
        ),
        (
            {"resolution_hours": "99999"},
            "resolution_hours",
            "Le délai ne peut pas dépasser 2000 heures ouvrées.",
        ),
        (
            {"first_response_hours": "deux"},
            "first_response_hours",
            "Saisissez un nombre entier d'heures ouvrées.",
        ),
        (
            {"first_response_hours": "20", "resolution_hours": "10"},
            "resolution_hours",
            "Le délai de résolution ne peut pas être plus court que celui de première réponse.",
        ),
        ({"priority": "99"}, "priority", "Choisissez une priorité de la liste."),
        ({"queue": "999999"}, "queue", "Choisissez une file de la liste."),
    ],
)
def test_rule_form_errors_are_french(
    values, field, message, supervisor, autres_rule, verified_client
):
    data = {
        "queue": autres_rule.queue_id,
        "priority": autres_rule.priority,
        "first_response_hours": 8,
        "resolution_hours": 40,
        "is_active": "on",
        **values,
    }
    response = verified_client(supervisor).post(rule_url(autres_rule), data)
    assert response.status_code == 200
    assert message in text(response)
    autres_rule.refresh_from_db()
    assert (autres_rule.first_response_hours, autres_rule.resolution_hours) != (20, 10)
    assert not SERVICE_CHANGES.exists()


def test_service_validates_on_its_own(supervisor, autres_rule):
    with pytest.raises(ValidationError) as caught:
        routing_rule_update(rule=autres_rule, actor=supervisor, first_response_hours=-3)
    assert caught.value.message_dict == {
        "first_response_hours": ["Le délai doit être d'au moins 1 heure ouvrée."]
    }
    with pytest.raises(ValidationError) as caught:
        routing_rule_update(
            rule=autres_rule, actor=supervisor, first_response_hours=50, resolution_hours=40
        )
    assert "resolution_hours" in caught.value.message_dict
    with pytest.raises(TypeError):
        routing_rule_update(rule=autres_rule, actor=supervisor, motif="autres")
    autres_rule.refresh_from_db()
    assert autres_rule.first_response_hours != -3


def test_audit_rows_are_append_only(supervisor, autres_rule):
    routing_rule_update(rule=autres_rule, actor=supervisor, priority=Priority.HIGH)
    change = SERVICE_CHANGES.get()
    change.data = {}
    with pytest.raises(AppendOnlyError):
        change.save()
    with pytest.raises(AppendOnlyError):
        change.delete()


# --- queue membership ----------------------------------------------------------------


def test_membership_change_changes_what_an_agent_sees(agent, supervisor, verified_client):
    general = Queue.objects.get(slug="general")
    agent_client = verified_client(agent)
    queue_page = reverse("backoffice:queue", args=["general"])
    assert agent_client.get(queue_page).status_code == 404
    colleague = UserFactory(queues=[general])
    sup_client = verified_client(supervisor)
    form_page = text(sup_client.get(members_url("general")))
    assert colleague.email in form_page or str(colleague) in form_page
    response = sup_client.post(members_url("general"), {"members": [agent.pk, colleague.pk]})
    assert response.status_code == 302
    assert agent_client.get(queue_page).status_code == 200
    change = SERVICE_CHANGES.get()
    assert change.kind == RoutingChangeKind.QUEUE_MEMBERS_SET and change.actor == supervisor
    assert change.queue == general
    assert change.data["added"] == [agent.pk] and change.data["removed"] == []
    # Removing the agent again closes the queue to them.
    sup_client.post(members_url("general"), {"members": [colleague.pk]})
    assert agent_client.get(queue_page).status_code == 404
    last = SERVICE_CHANGES.order_by("-id").first()
    assert last.data["added"] == [] and last.data["removed"] == [agent.pk]
    body = text(sup_client.get(HOME))
    assert f"retirés : {agent.email}" in body


def test_membership_refuses_unknown_or_inactive_users(supervisor, agent):
    general = Queue.objects.get(slug="general")
    gone = UserFactory(is_active=False)
    for ids in ([999999], [gone.pk]):
        with pytest.raises(ValidationError):
            queue_members_set(queue=general, actor=supervisor, user_ids=ids)
    assert not general.members.exists()
    assert not SERVICE_CHANGES.exists()


def test_membership_form_refuses_unknown_user(supervisor, verified_client):
    response = verified_client(supervisor).post(members_url("general"), {"members": ["999999"]})
    assert response.status_code == 200
    assert "Un des agents choisis n'existe pas." in text(response)


def test_unknown_rule_or_queue_is_404(supervisor, verified_client):
    client = verified_client(supervisor)
    assert client.get("/backoffice/routage/regles/999999/").status_code == 404
    assert client.get(members_url("nope")).status_code == 404


# --- preview -------------------------------------------------------------------------


@override_settings(SLA_OPENING_HOURS=OPENING)
@freeze_time(datetime(2026, 5, 7, 16, 0, tzinfo=PARIS))  # Thursday before 8 May (holiday)
def test_preview_shows_queue_priority_and_due_dates(supervisor, verified_client):
    rule = RoutingRule.objects.select_related("queue").get(motif=Motif.HABILITATION_EXTRANET)
    routing_rule_update(
        rule=rule,
        actor=supervisor,
        first_response_hours=8,
        resolution_hours=16,
        priority=Priority.HIGH,
    )
    establishment = EstablishmentFactory(siret="73282932000074", denomination="Boulangerie")
    response = verified_client(supervisor).get(
        PREVIEW, {"motif": Motif.HABILITATION_EXTRANET, "siret": "732 829 320 00074"}
    )
    body = text(response)
    assert "Une demande « Habilitation à l'extranet » reçue maintenant" in body
    assert f"File : {rule.queue.name}" in body
    assert "Priorité : Haute" in body
    # 1 h left on Thursday, Friday 8 May is a public holiday, then the weekend: the 7
    # remaining hours end on Monday 11 May at 16:00; 16 h end on Tuesday 12 May at 16:00.
    now = datetime(2026, 5, 7, 16, 0, tzinfo=PARIS)
    assert add_business_time(now, timedelta(hours=8)) == datetime(2026, 5, 11, 16, 0, tzinfo=PARIS)
    assert "avant le lundi 11/05/2026 à 16:00 (8 h ouvrées)" in body
    assert "avant le mardi 12/05/2026 à 16:00 (16 h ouvrées)" in body
    assert f"établissement connu du référentiel ({establishment.denomination})" in body


def test_preview_of_a_motif_without_active_rule(supervisor, verified_client):
    rule = RoutingRule.objects.get(motif=Motif.AUTRES)
    routing_rule_update(rule=rule, actor=supervisor, is_active=False)
    body = text(
        verified_client(supervisor).get(PREVIEW, {"motif": Motif.AUTRES, "siret": "52601815500014"})
    )
    default = Queue.objects.get(is_default=True)
    assert f"File : {default.name} (file par défaut" in body
    assert "Aucun délai cible" in body
    assert "établissement inconnu du référentiel" in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"motif": ""}, "Choisissez un motif."),
        ({"motif": "inconnu"}, "Choisissez un motif de la liste."),
        ({"motif": "autres", "siret": "123"}, "Le SIRET compte 14 chiffres."),
    ],
)
def test_preview_errors_are_french(params, message, supervisor, verified_client):
    body = text(verified_client(supervisor).get(PREVIEW, params))
    assert message in body and "reçue maintenant" not in body
