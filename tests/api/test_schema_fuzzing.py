"""Schemathesis over the whole OpenAPI schema, in-process (WSGI), with every check
schemathesis has (``--checks all``): no 5xx, responses and status codes as the schema
says, invalid data rejected, schema-valid data accepted, and so on. Run as three callers:
anonymous, the extranet's API key, and an agent (a supervisor, who sees every queue) with
a personal token, whose data (tickets, a reassignment) the fuzzer can reach.

``positive_data_acceptance`` (a request the schema allows must not get 400/422) runs on
every operation. Four operations carry a rule no JSON schema can state; on those, and only
there, a 422 for a schema-valid request is accepted when it names nothing but the field of
that rule (``BUSINESS_RULE_FIELDS``), so the check still fails on any other refusal:

* ``POST /assistance-requests`` and ``POST /tickets/{reference}/reassignments``: a SIRET's
  check digit (Luhn, with La Poste's exception), a phone number's numbering plan (France
  and overseas), and an e-mail address's validity as Django's validator sees it (the
  schema says ``format: email``, which generators read more loosely);
* ``POST /assistance-requests/{reference}/documents``: what a file is, read from its
  content (PDF, JPEG, PNG);
* ``POST /tickets/{ticket_id}/siret-verification``: "passed" is refused while the ticket's
  SIRET fails the registry checks: a rule on the ticket, not on the request's shape.

The number of cases generated: ``pytest tests/api/test_schema_fuzzing.py
--hypothesis-show-statistics``, or the total printed by ``test_cases_were_generated``.
"""

from __future__ import annotations

import json

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

BUSINESS_RULE_FIELDS: dict[str, set[str]] = {
    "POST /api/v1/assistance-requests": {"siret", "phone", "email"},
    "POST /api/v1/tickets/{reference}/reassignments": {"new_holder_phone", "new_holder_email"},
    "POST /api/v1/assistance-requests/{reference}/documents": {"file"},
    "POST /api/v1/tickets/{ticket_id}/siret-verification": {"verdict"},
}

CASES = {"count": 0}


def _business_rule_refusal(case, response) -> bool:
    fields = BUSINESS_RULE_FIELDS.get(case.operation.label)
    if fields is None or response.status_code != 422:
        return False
    try:
        errors = json.loads(response.content).get("errors") or {}
    except ValueError:
        return False
    return bool(errors) and set(errors) <= fields


def _call(case, headers=None) -> None:
    CASES["count"] += 1
    response = case.call(headers=headers)
    excluded = []
    if _business_rule_refusal(case, response):
        excluded.append(positive_data_acceptance)
    case.validate_response(response, headers=headers, excluded_checks=excluded)


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
    _call(case)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_key_caller(case, api_key_header):
    _call(case, headers=api_key_header)


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
    _call(case, headers=agent_header)


def test_cases_were_generated():
    """Runs after the three callers in this module (pytest keeps the file's order unless
    the run is split between workers): the fuzzing did send requests."""
    if CASES["count"] == 0:
        pytest.skip("the fuzzing tests ran in another worker or were deselected")
    print(f"\nschemathesis: {CASES['count']} cases sent")
    assert CASES["count"] >= 3 * len(BUSINESS_RULE_FIELDS)
