"""Reading /metrics and /readyz the way Prometheus and a probe do."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

OPS_TOKEN = "ops-token-for-the-tests-0123456789-abcdef"
# A caller that is not on this machine (the test client's default is 127.0.0.1).
REMOTE = {"REMOTE_ADDR": "203.0.113.7"}


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {OPS_TOKEN}", **REMOTE)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(text: str, name: str, **labels) -> float | None:
    return samples(text).get((name, frozenset((k, str(v)) for k, v in labels.items())))


def families(text: str) -> dict[str, str]:
    """Family name → type."""
    return {f.name: f.type for f in text_string_to_metric_families(text)}
