"""``/metrics``: the system's promises in Prometheus' exposition format.

Three sources, one scrape:

* **This web tier's requests**: latency by view, method and status, kept in memory by
  prometheus-client. Under gunicorn each worker process writes its own files in
  ``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn.conf.py``) and a scrape sums them all;
  without it (``make run``, tests) the process's own registry is read.
* **What workers and beat recorded** in the database (``worker.metrics``): e-mails sent and
  failed by template, SLA breaches marked, links expired and the sweep's duration, beat
  tasks' durations, failures and last successes, the heartbeats; and beat's rollup of the
  domain figures (``metrics_rollup_refresh``, every minute): open tickets by queue and
  status, open tickets past an SLA target, reassignments by state. One query.
* **The outbox, live**: its backlog (capped) and the age of its oldest job not done, two
  probes of partial indexes.

So a scrape never counts the ticket table: its cost does not grow with it (``make bench``,
scenario ``metrics_scrape``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector

# The families other layers declare, imported so that they are listed even before their
# first sample (and so that a rename shows here).
from accounts.extranet.links import LINK_SWEEP_DURATION, LINKS_EXPIRED
from accounts.extranet.selectors import reassignment_counts_by_state
from tickets.selectors import open_ticket_figures
from tickets.services.sla import SLA_BREACHES
from worker import metrics
from worker.selectors import BACKLOG_CAP, outbox_backlog, outbox_oldest_pending_created_at
from worker.services import EMAILS_FAILED, EMAILS_SENT
from worker.telemetry import (
    BEAT_LAST_TICK,
    BEAT_TASK_DURATION,
    BEAT_TASK_FAILURES,
    BEAT_TASK_LAST_SUCCESS,
    WORKER_HEARTBEAT_LAG,
    WORKER_LAST_HEARTBEAT,
)

# No ``*_created`` series: they double the output and no alert uses them.
disable_created_metrics()

REQUEST_LATENCY = Histogram(
    "apsupport_http_request_duration_seconds",
    "Time the web tier took to answer, by view (URL name), method and status.",
    labelnames=("view", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Beat's rollup (every minute): the domain figures, never counted at scrape time.
OPEN_TICKETS = metrics.gauge(
    "apsupport_open_tickets", "Open tickets by queue and status.", labels=("queue", "status")
)
OPEN_TICKETS_SLA_BREACHED = metrics.gauge(
    "apsupport_open_tickets_sla_breached",
    "Open tickets that missed an SLA target, by queue and target.",
    labels=("queue", "target"),
)
REASSIGNMENTS = metrics.gauge(
    "apsupport_reassignments", "Account reassignments (case 2.1) by state.", labels=("state",)
)
ROLLUP_AT = metrics.gauge(
    "apsupport_rollup_timestamp_seconds",
    "When beat last refreshed the rollup of the domain figures (Unix time).",
)

STORED_FAMILIES = (
    EMAILS_SENT,
    EMAILS_FAILED,
    SLA_BREACHES,
    LINKS_EXPIRED,
    LINK_SWEEP_DURATION,
    BEAT_TASK_DURATION,
    BEAT_TASK_FAILURES,
    BEAT_TASK_LAST_SUCCESS,
    BEAT_LAST_TICK,
    WORKER_LAST_HEARTBEAT,
    WORKER_HEARTBEAT_LAG,
    OPEN_TICKETS,
    OPEN_TICKETS_SLA_BREACHED,
    REASSIGNMENTS,
    ROLLUP_AT,
)


def metrics_rollup_refresh() -> None:
    """Beat, every minute: the domain figures into the metrics store, in one transaction
    (a scrape sees the previous rollup or this one, never half of each)."""
    figures = open_ticket_figures()
    breached: dict[tuple[str, ...], float] = {}
    for f in figures:
        for target, n in (
            ("first_response", f.first_response_breached),
            ("resolution", f.resolution_breached),
        ):
            breached[(f.queue_slug, target)] = breached.get((f.queue_slug, target), 0) + n
    reassignments = reassignment_counts_by_state()
    with transaction.atomic():
        metrics.replace_gauges(OPEN_TICKETS, {(f.queue_slug, f.status): f.open for f in figures})
        metrics.replace_gauges(OPEN_TICKETS_SLA_BREACHED, breached)
        metrics.replace_gauges(REASSIGNMENTS, {(state,): n for state, n in reassignments.items()})
        metrics.set_gauge(ROLLUP_AT, timezone.now().timestamp())


def _stored_family(family: metrics.Family, samples: list[metrics.Sample]) -> Metric:
    names = list(family.labels)
    if family.kind == "counter":
        counter = CounterMetricFamily(family.name, family.help, labels=names)
        if not samples and not names:
            counter.add_metric([], 0.0)
        for s in samples:
            counter.add_metric([s.labels.get(n, "") for n in names], s.value)
        return counter
    gauge = GaugeMetricFamily(family.name, family.help, labels=names)
    for s in samples:
        gauge.add_metric([s.labels.get(n, "") for n in names], s.value)
    return gauge


def _stored_histogram(
    family: metrics.Family, buckets: list[metrics.Sample], sums: list[metrics.Sample]
) -> Metric:
    names = list(family.labels)
    histogram = HistogramMetricFamily(family.name, family.help, labels=names)
    per_series: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for s in buckets:
        key = tuple(s.labels.get(n, "") for n in names)
        per_series[key][s.labels["le"]] = s.value
    totals = {tuple(s.labels.get(n, "") for n in names): s.value for s in sums}
    bounds = [repr(float(b)) for b in family.buckets] + [metrics.INF]
    for key, counts in sorted(per_series.items()):
        running, cumulative = 0.0, []
        for le in bounds:
            running += counts.get(le, 0.0)
            cumulative.append((le, running))
        histogram.add_metric(list(key), cumulative, sum_value=totals.get(key, 0.0))
    return histogram


class StoredMetricsCollector:
    """The database's share of a scrape (see the module's docstring)."""

    def collect(self) -> Iterator[Metric]:
        stored = metrics.read_all()
        declared = {f.name: f for f in (*STORED_FAMILIES, *metrics.families())}
        for family in sorted(declared.values(), key=lambda f: f.name):
            if family.kind == "histogram":
                yield _stored_histogram(
                    family,
                    stored.get(f"{family.name}_bucket", []),
                    stored.get(f"{family.name}_sum", []),
                )
            else:
                yield _stored_family(family, stored.get(family.name, []))

        backlog = GaugeMetricFamily(
            "apsupport_outbox_backlog_jobs",
            f"Outbox jobs (e-mails and other jobs) not done yet, counted up to {BACKLOG_CAP}.",
        )
        backlog.add_metric([], outbox_backlog())
        yield backlog
        oldest = outbox_oldest_pending_created_at()
        age = GaugeMetricFamily(
            "apsupport_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox job not done yet (0 when the outbox is empty).",
        )
        age.add_metric(
            [], 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
        )
        yield age


def exposition() -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every gunicorn worker's request latencies, from their files.
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(StoredMetricsCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
