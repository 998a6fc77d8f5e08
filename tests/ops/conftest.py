import pytest

from .helpers import OPS_TOKEN


@pytest.fixture(autouse=True)
def _ops_token(settings):
    settings.OPS_TOKEN = OPS_TOKEN
