"""Schemathesis over the whole OpenAPI schema, in-process (WSGI): no 5xx, responses match
the schema, invalid data rejected. Run as three callers: anonymous, the extranet's API
key, and an agent (a supervisor, who sees every queue) with a personal token, whose data
(tickets, a reassignment) the fuzzer can reach.

``positive_data_acceptance`` is left out on purpose: the schema describes the shapes (a
SIRET is a string) while the business rules (its checksum, a known establishment) answer
422 with French messages; schemathesis cannot know those rules.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.staff.services import api_key_create
from backoffice.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the WSGI application directly. Django's request signals would
    then close the test's database connection (it is in a transaction, and older than
    CONN_MAX_AGE on a long run); Django's own test client disconnects them, so do we."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key_header(db):
    return {"X-API-Key": api_key_create(name="fuzz")[1]}


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous_caller(case, db):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_key_caller(case, api_key_header):
    case.call_and_validate(headers=api_key_header, excluded_checks=[positive_data_acceptance])


@pytest.fixture
def agent_header(db):
    from accounts.staff.services import personal_token_create
    from tests.factories import TicketFactory, TOTPDeviceFactory, UserFactory

    supervisor = UserFactory(supervisor=True)
    TOTPDeviceFactory(user=supervisor)  # tokens work only with a confirmed second factor
    for _ in range(3):
        TicketFactory()
    return {"Authorization": f"Bearer {personal_token_create(user=supervisor, name='fuzz')[1]}"}


@schema.parametrize()
@FUZZ_SETTINGS
def test_agent_caller(case, agent_header):
    case.call_and_validate(headers=agent_header, excluded_checks=[positive_data_acceptance])
