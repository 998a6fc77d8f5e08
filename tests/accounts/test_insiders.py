"""Insider paths around four-eyes (issue 12, point 9): an establishment's e-mail on record,
staff roles and queue membership are recorded with before/after values and notified,
whoever changes them and from wherever (the admin included); an administrator cannot
approve a reassignment. (The second factor's enrolment link: tests/backoffice/test_auth.py.)
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.extranet.exceptions import ReassignmentForbidden
from accounts.extranet.models import ReassignmentState
from accounts.staff.models import Role, StaffChange, StaffChangeKind, User
from establishments.models import EstablishmentChange
from tests.accounts.helpers import approve
from tests.accounts.test_reassignment import account, oncommit, prepare, ticket  # noqa: F401
from tests.factories import EstablishmentFactory, UserFactory
from tests.support.auth import otp_login
from tickets.models import Queue, RoutingChange, RoutingChangeKind
from worker.audit import AppendOnlyError

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    otp_login(client, admin_user)
    return client


# --- An establishment's e-mail on record --------------------------------------------------


def test_an_admin_changing_an_establishments_email_is_recorded_and_told_to_the_old_address(
    admin_user, admin_client, django_capture_on_commit_callbacks
):
    establishment = EstablishmentFactory(email="contact@boulangerie.fr")
    url = f"/admin/establishments/establishment/{establishment.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update({"email": "pirate@exemple.fr", "phone": "", "fax": ""})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]

    change = EstablishmentChange.objects.get()
    assert (change.field, change.before, change.after) == (
        "email",
        "contact@boulangerie.fr",
        "pirate@exemple.fr",
    )
    assert change.actor == admin_user
    assert change.actor_ref == f"user:{admin_user.pk}"
    [notice] = mail.outbox
    assert notice.to == ["contact@boulangerie.fr"]
    assert establishment.siret in notice.body
    assert "p…@exemple.fr" in notice.body
    assert "pirate@exemple.fr" not in notice.body


def test_a_change_from_a_shell_is_recorded_too_and_other_saves_are_not(
    django_capture_on_commit_callbacks,
):
    establishment = EstablishmentFactory(email="contact@boulangerie.fr")
    establishment.denomination = "Autre nom"
    establishment.save()
    assert not EstablishmentChange.objects.exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        establishment.email = "nouvelle@boulangerie.fr"
        establishment.save()
    change = EstablishmentChange.objects.get()
    assert change.actor is None
    assert change.actor_ref == "hors requête"
    assert [m.to for m in mail.outbox] == [["contact@boulangerie.fr"]]
    with pytest.raises(AppendOnlyError):
        change.save()
    with pytest.raises(AppendOnlyError):
        change.delete()


def test_setting_a_first_address_is_recorded_without_a_notice(django_capture_on_commit_callbacks):
    establishment = EstablishmentFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        establishment.email = "premiere@boulangerie.fr"
        establishment.save()
    assert EstablishmentChange.objects.get().before == ""
    assert mail.outbox == []


# --- Staff roles --------------------------------------------------------------------------


def test_an_admin_granting_the_supervisor_role_is_recorded_and_told_to_the_supervisors(
    admin_user, admin_client, django_capture_on_commit_callbacks
):
    supervisor = UserFactory(email="chef@asp.example", supervisor=True)
    agent = UserFactory(email="agent.x@asp.example")
    url = f"/admin/accounts/user/{agent.pk}/change/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url,
            {
                "email": agent.email,
                "first_name": agent.first_name,
                "last_name": agent.last_name,
                "role": Role.SUPERVISOR,
                "is_active": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = StaffChange.objects.filter(kind=StaffChangeKind.ROLE_CHANGED).get()
    assert change.user == agent
    assert change.data == {"role": ["agent", "supervisor"]}
    assert change.actor == admin_user
    [notice] = [m for m in mail.outbox if m.to == [supervisor.email]]
    assert "agent.x@asp.example" in notice.subject
    assert "rôle : Agent → Superviseur" in notice.body
    assert f"user:{admin_user.pk}" in notice.body


def test_creating_a_privileged_account_is_recorded_and_told(django_capture_on_commit_callbacks):
    supervisor = UserFactory(email="chef@asp.example", supervisor=True)
    with django_capture_on_commit_callbacks(execute=True):
        created = User.objects.create_user(
            email="nouveau.chef@asp.example", first_name="N", last_name="C", role=Role.SUPERVISOR
        )
    change = StaffChange.objects.get(user=created)
    assert change.kind == StaffChangeKind.ACCOUNT_CREATED
    assert change.data["role"] == [None, "supervisor"]
    assert change.actor_ref == "hors requête"
    # Every active supervisor, the new one included.
    assert sorted(m.to[0] for m in mail.outbox) == [supervisor.email, created.email]


def test_creating_a_plain_agent_is_recorded_without_a_notice(django_capture_on_commit_callbacks):
    UserFactory(email="chef@asp.example", supervisor=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        agent = UserFactory(email="simple.agent@asp.example")
    assert StaffChange.objects.get(user=agent).kind == StaffChangeKind.ACCOUNT_CREATED
    assert mail.outbox == []


def test_deactivating_or_making_superuser_is_recorded(django_capture_on_commit_callbacks):
    agent = UserFactory()
    agent.is_superuser = True
    agent.is_active = False
    agent.save()
    change = StaffChange.objects.get(user=agent, kind=StaffChangeKind.ROLE_CHANGED)
    assert change.data == {"is_superuser": [False, True], "is_active": [True, False]}


def test_a_login_does_not_write_an_audit_row(agent):
    before = StaffChange.objects.count()
    agent.save(update_fields=["last_login"])
    assert StaffChange.objects.count() == before


# --- Queue membership ---------------------------------------------------------------------


def test_membership_changed_outside_the_service_is_recorded(habilitation_queue):
    newcomer = UserFactory(email="nouvel.agent@asp.example")
    habilitation_queue.members.add(newcomer)
    newcomer.queues.remove(habilitation_queue)
    rows = list(
        RoutingChange.objects.filter(kind=RoutingChangeKind.QUEUE_MEMBERS_SET).order_by("id")
    )
    assert [(r.data["added"], r.data["removed"]) for r in rows] == [
        ([newcomer.pk], []),
        ([], [newcomer.pk]),
    ]
    assert all(r.queue == habilitation_queue and r.actor is None for r in rows)
    assert rows[0].data["emails"] == {str(newcomer.pk): "nouvel.agent@asp.example"}
    assert rows[0].data["actor_ref"] == "hors requête"


def test_membership_changed_by_the_service_is_recorded_once(supervisor, habilitation_queue):
    from tickets.services import queue_members_set

    newcomer = UserFactory()
    current = list(habilitation_queue.members.values_list("pk", flat=True))
    queue_members_set(queue=habilitation_queue, actor=supervisor, user_ids=[*current, newcomer.pk])
    [row] = RoutingChange.objects.filter(kind=RoutingChangeKind.QUEUE_MEMBERS_SET)
    assert row.actor == supervisor
    assert row.data["added"] == [newcomer.pk]
    assert Queue.objects.get(pk=habilitation_queue.pk).members.filter(pk=newcomer.pk).exists()


# --- An administrator cannot approve a reassignment ----------------------------------------


def test_an_admin_cannot_approve_a_reassignment(ticket, agent, admin_user):  # noqa: F811
    reassignment = prepare(ticket, agent).reassignment
    with pytest.raises(ReassignmentForbidden, match="administrateur"):
        approve(reassignment, admin_user)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.PREPARED


def test_a_superuser_with_the_supervisor_role_cannot_approve_either(ticket, agent):  # noqa: F811
    sly = UserFactory(supervisor=True, is_superuser=True)
    reassignment = prepare(ticket, agent).reassignment
    with pytest.raises(ReassignmentForbidden):
        approve(reassignment, sly)


def test_a_supervisor_still_approves(ticket, agent, supervisor, oncommit):  # noqa: F811
    reassignment = prepare(ticket, agent).reassignment
    with oncommit(execute=True):
        approve(reassignment, supervisor)
    reassignment.refresh_from_db()
    assert reassignment.state == ReassignmentState.APPROVED
