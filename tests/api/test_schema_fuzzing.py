"""Schemathesis over the whole OpenAPI schema, in-process (WSGI): no 5xx, responses match
the schema, invalid data rejected. Run as an anonymous caller and with an API key; agent
operations (session + second factor) are fuzzed in tests/api/test_agent_api_fuzzing.py.

``positive_data_acceptance`` is left out on purpose: the schema describes the shapes (a
SIRET is a string) while the business rules (its checksum, a known establishment) answer
422 with French messages; schemathesis cannot know those rules.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.services import api_key_create
from backoffice.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much],
)


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
