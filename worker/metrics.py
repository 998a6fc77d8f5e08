"""The operator's metrics that outlive a process, stored in the database (``worker.Metric``).

Web processes keep their request latencies in memory (prometheus-client, multiprocess mode
under gunicorn: see ``backoffice.ops.metrics``). What workers and beat measure cannot live
there: workers run on other machines, and a counter must survive a restart. So:

* **counters** (e-mails sent, SLA breaches marked, links expired, task failures) are one
  upsert each, in the transaction of the change they count where there is one, so that
  they are exact: an e-mail counted as sent is an e-mail whose row says "sent";
* **histograms** (task durations) are two upserts per observation: the bucket the value
  falls in (buckets are stored non-cumulative and summed when read) and the sum;
* **gauges** (beat's rollup of the domain figures, the heartbeats) are set.

A family is declared once, beside the code that writes it (``counter(...)`` at module
level); the metrics endpoint lists every declared family. Names follow Prometheus'
conventions; a counter's name is declared without ``_total``, which the exposition adds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db import connection, transaction
from django.utils import timezone

from .models import Metric

logger = logging.getLogger(__name__)

Kind = Literal["counter", "gauge", "histogram"]
# Seconds: from a quick sweep (a few ms) to one stuck on a lock for minutes.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.01,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
INF = "+Inf"


@dataclass(frozen=True)
class Family:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


_families: dict[str, Family] = {}


def _declare(family: Family) -> Family:
    existing = _families.get(family.name)
    if existing is not None and existing != family:
        raise ValueError(f"Metric {family.name!r} declared twice, differently.")
    _families[family.name] = family
    return family


def counter(name: str, help: str, *, labels: tuple[str, ...] = ()) -> Family:
    return _declare(Family(name=name, kind="counter", help=help, labels=labels))


def gauge(name: str, help: str, *, labels: tuple[str, ...] = ()) -> Family:
    return _declare(Family(name=name, kind="gauge", help=help, labels=labels))


def histogram(
    name: str,
    help: str,
    *,
    labels: tuple[str, ...] = (),
    buckets: tuple[float, ...] = DEFAULT_BUCKETS,
) -> Family:
    return _declare(
        Family(name=name, kind="histogram", help=help, labels=labels, buckets=tuple(buckets))
    )


def families() -> list[Family]:
    return sorted(_families.values(), key=lambda f: f.name)


def labels_key(labels: Mapping[str, object]) -> str:
    if not labels:
        return ""
    return json.dumps({k: str(v) for k, v in labels.items()}, sort_keys=True, separators=(",", ":"))


def labels_of(key: str) -> dict[str, str]:
    return json.loads(key) if key else {}


def _check(family: Family, labels: Mapping[str, object]) -> None:
    if set(labels) != set(family.labels):
        raise ValueError(
            f"Metric {family.name!r} takes labels {family.labels}, not {tuple(labels)}."
        )


def _upsert(name: str, key: str, value: float, *, add: bool) -> None:
    table = connection.ops.quote_name(Metric._meta.db_table)
    update = f"{table}.value + excluded.value" if add else "excluded.value"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, labels, value, updated_at) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (name, labels) DO UPDATE SET value = {update}, "
            "updated_at = excluded.updated_at",
            [name, key, float(value), now],
        )


def inc(family: Family, amount: float = 1.0, **labels: object) -> None:
    """Add to a counter (one statement, safe under concurrency)."""
    assert family.kind == "counter", family
    _check(family, labels)
    _upsert(family.name, labels_key(labels), amount, add=True)


def set_gauge(family: Family, value: float, **labels: object) -> None:
    assert family.kind == "gauge", family
    _check(family, labels)
    _upsert(family.name, labels_key(labels), value, add=False)


def _format_le(bound: float) -> str:
    return repr(float(bound))


def observe(family: Family, value: float, **labels: object) -> None:
    """Record one observation of a histogram: its bucket and the sum."""
    assert family.kind == "histogram", family
    _check(family, labels)
    le = next((_format_le(b) for b in family.buckets if value <= b), INF)
    _upsert(f"{family.name}_bucket", labels_key({**labels, "le": le}), 1.0, add=True)
    _upsert(f"{family.name}_sum", labels_key(labels), value, add=True)


def quietly(what: str, record: Callable[[], None]) -> None:
    """Record figures outside the transaction of what they measure: in a savepoint of
    their own, and a failure is logged and dropped (a figure is never worth a failed
    task)."""
    try:
        with transaction.atomic():
            record()
    except Exception as exc:  # noqa: BLE001
        logger.warning("Metric %s not recorded: %s", what, type(exc).__name__)


def replace_gauges(family: Family, values: Mapping[tuple[str, ...], float]) -> None:
    """Set a gauge family to exactly these series (label values in the declared order):
    the series not given (a queue that was deleted) are removed."""
    assert family.kind == "gauge", family
    keys = []
    with transaction.atomic():
        for label_values, value in values.items():
            labels = dict(zip(family.labels, label_values, strict=True))
            key = labels_key(labels)
            keys.append(key)
            _upsert(family.name, key, value, add=False)
        Metric.objects.filter(name=family.name).exclude(labels__in=keys).delete()


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    updated_at: datetime


def read_all() -> dict[str, list[Sample]]:
    """Every stored series, by stored name (histograms: ``<name>_bucket`` and
    ``<name>_sum``). One query."""
    rows: dict[str, list[Sample]] = {}
    for name, key, value, updated_at in Metric.objects.values_list(
        "name", "labels", "value", "updated_at"
    ):
        rows.setdefault(name, []).append(
            Sample(labels=labels_of(key), value=value, updated_at=updated_at)
        )
    return rows


def read_gauge(family: Family, **labels: object) -> float | None:
    _check(family, labels)
    return (
        Metric.objects.filter(name=family.name, labels=labels_key(labels))
        .values_list("value", flat=True)
        .first()
    )
