"""Build the bench context, run the scenarios, and print the table."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import connection, reset_queries
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.staff.models import ApiKey
from accounts.staff.services import api_key_create
from tickets.documents import documents_storage
from tickets.models import (
    DocumentKind,
    FollowUpLink,
    MessageKind,
    PreviewStatus,
    Queue,
    Status,
    Ticket,
    TicketDocument,
    TicketEvent,
    TicketMessage,
)

from .scenarios import SCENARIOS, BenchContext, session_login
from .seed import REFERENCE_PREFIX

API_KEY_NAME = "bench"
API_KEY = "bench000.bench-api-key-not-for-production"
# Targets of issue 3 on PostgreSQL with 1,000,000 tickets.
TARGET_MEDIAN_MS = 100
TARGET_QUERIES = 12
# Runs of each scenario whose statements are counted (not timed).
COUNTED_RUNS = 10
# Issue 15: every page under 25 ms median at 1,000,000 tickets; intake at most 8
# statements and 5 ms of process CPU.
PAGE_TARGET_MS = 25.0
INTAKE_SCENARIO = "api_intake"
INTAKE_MAX_STATEMENTS = 8
INTAKE_MAX_CPU_MS = 5.0


def cpu_yardstick_ms() -> float:
    """The process CPU of a fixed pure-Python loop (best of three): how fast this machine
    runs Python right now. On shared virtual machines it moves by a third from one hour
    to the next; two runs of the bench compare only with their yardsticks."""
    best = math.inf
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.process_time() - started)
    return best * 1000


def is_page(scenario) -> bool:
    """A page an agent, a supervisor or a requester opens (its label says "Page :"), not a
    beat job or a component measured on its own."""
    return scenario.label.startswith("Page :")


def _target_of(scenario) -> tuple[bool, float | None]:
    if is_page(scenario):
        own = scenario.target_ms if scenario.target_ms is not None else math.inf
        return True, min(own, PAGE_TARGET_MS)
    return scenario.targeted, scenario.target_ms


@dataclass
class Measure:
    name: str
    label: str
    runs: int
    median_ms: float
    p95_ms: float
    queries: int  # the largest count over the runs: a page's count must not vary
    # Median CPU time of this process per run (Python, templates, the driver's parsing):
    # what a request costs a web worker, whatever the database is doing.
    cpu_ms: float = 0.0
    targeted: bool = True
    target_ms: float | None = None

    @property
    def within_targets(self) -> bool:
        median_target = self.target_ms if self.target_ms is not None else TARGET_MEDIAN_MS
        return self.median_ms < median_target and self.queries <= TARGET_QUERIES


def _api_key() -> str:
    if not ApiKey.objects.filter(name=API_KEY_NAME).exists():
        api_key_create(name=API_KEY_NAME, raw_key=API_KEY)
    return API_KEY


def _deep_cursors(queryset, fractions=(0.5, 0.6, 0.7, 0.8, 0.9)) -> list:
    """(created_at, id) of rows at these depths: built once, with OFFSET, outside timing."""
    total = queryset.count()
    cursors = []
    for fraction in fractions:
        row = (
            queryset.order_by("created_at", "id")
            .values_list("created_at", "id")[int(total * fraction) : int(total * fraction) + 1]
            .first()
        )
        if row:
            cursors.append(row)
    return cursors or [(None, 0)]


def _sample_tickets(queue: Queue, size: int = 50) -> list[int]:
    """Bench tickets of ``queue`` that have a timeline, spread over the whole id range
    (so over the two years), for the scenarios that open one ticket per run."""
    bench = Ticket.objects.filter(reference__startswith=REFERENCE_PREFIX)
    bounds = bench.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        raise RuntimeError("Aucun ticket de bench : lancez le remplissage d'abord.")
    step = max(1, (bounds["high"] - bounds["low"]) // (size * 100))
    candidates = list(range(bounds["low"], bounds["high"] + 1, step))
    with_timeline = set(
        TicketEvent.objects.filter(ticket_id__in=candidates, ticket__queue=queue)
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    ids = sorted(with_timeline)
    if not ids:
        ids = list(bench.filter(queue=queue).values_list("id", flat=True)[:size])
    return ids[:: max(1, len(ids) // size)][:size]


# Not under the bench prefix: the seeded tickets are counted by it. Kept across reseeds.
DOCUMENTS_TICKET_REFERENCE = "BNDOC-000001"


def _documents_ticket(queue: Queue, agent) -> int:
    """A ticket of the bench agent with 20 messages and 20 documents, the page DESIGN.md
    section 9 measures. The documents share one small stored file: the page reads their
    rows, never the files."""

    existing = Ticket.objects.filter(reference=DOCUMENTS_TICKET_REFERENCE).first()
    if existing is not None:
        return existing.pk
    now = timezone.now()
    ticket = Ticket.objects.create(
        reference=DOCUMENTS_TICKET_REFERENCE, siret="73282932000074",
        denomination="Boulangerie du Marché", requester_name="Claire Dupont",
        phone="+33102030405", email="documents@bench.example", motif="habilitation_extranet",
        description="Je n'ai plus accès au compte.", source="form", queue=queue,
        assignee=agent, status=Status.EN_COURS, created_at=now,
    )  # fmt: skip
    storage = documents_storage()
    name = storage.save("bench/document.pdf", ContentFile(b"%PDF-1.4\n%bench\n"))
    kinds = [DocumentKind.KBIS, DocumentKind.MANDATE, DocumentKind.IDENTITY, DocumentKind.OTHER]
    messages = TicketMessage.objects.bulk_create(
        TicketMessage(
            ticket=ticket,
            kind=[MessageKind.REPLY, MessageKind.REQUESTER_REPLY][i % 2],
            author=agent if i % 2 == 0 else None,
            body=f"Message {i} : voici les éléments demandés.",
            created_at=now,
        )
        for i in range(20)
    )
    TicketDocument.objects.bulk_create(
        TicketDocument(
            ticket=ticket, message=messages[2 * (i // 2) + 1], kind=kinds[i % 4],
            source="followup", name=f"piece-{i}.pdf", content_type="application/pdf",
            size=1_500_000, sha256="0" * 64, storage_name=name, preview_name=name,
            preview_status=PreviewStatus.READY, created_at=now,
        )
        for i in range(20)
    )  # fmt: skip
    FollowUpLink.objects.create(ticket=ticket, created_at=now, sent_at=now, last_used_at=now)
    return ticket.pk


def context_build(*, agent, supervisor) -> BenchContext:
    queue = Queue.objects.get(slug="habilitation")
    filter_queue = Queue.objects.get(slug="etablissement")
    ctx = BenchContext(agent=agent, supervisor=supervisor, queue=queue, api_key=_api_key())
    session_login(ctx.client, agent)
    ctx.sample_ticket_ids = _sample_tickets(queue)
    ctx.documents_ticket_id = _documents_ticket(queue, agent)
    ctx.deep_cursors = _deep_cursors(Ticket.objects.filter(queue=queue, status=Status.CLOS))
    ctx.filter_queue = filter_queue
    ctx.filter_assignee_id = (
        filter_queue.members.filter(email__endswith="@bench.example")
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    ctx.filter_deep_cursors = _deep_cursors(
        Ticket.objects.filter(
            queue=filter_queue,
            status=ctx.filter_status,
            motif=ctx.filter_motif,
            assignee_id=ctx.filter_assignee_id,
        )
    )
    return ctx


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(ctx: BenchContext, *, runs: int, warmup: int, names: list[str] | None = None,
            log=print) -> list[Measure]:  # fmt: skip
    results = []
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        run = scenario.build(ctx)
        for i in range(warmup):
            run(-1 - i)
        # Timed as production runs: Django's debug cursor, which records each statement
        # for the count, costs ~0.2 ms of CPU per statement, so the statements are counted
        # in runs of their own, right after (new indexes: a scenario that writes, like
        # intake, must take the same path as in the timed runs).
        times, cpu, queries = [], [], []
        for i in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            run(i)
            elapsed = time.perf_counter() - started
            cpu.append((time.process_time() - cpu_started) * 1000)
            times.append(elapsed * 1000)
        for i in range(runs, runs + min(runs, COUNTED_RUNS)):
            with CaptureQueriesContext(connection) as captured:
                run(i)
            queries.append(len(captured.captured_queries))
            reset_queries()
        result = Measure(
            name=scenario.name,
            label=scenario.label,
            runs=runs,
            median_ms=statistics.median(times),
            p95_ms=_percentile(times, 0.95),
            queries=max(queries),
            cpu_ms=statistics.median(cpu),
        )
        result.targeted, result.target_ms = _target_of(scenario)
        log(f"  {scenario.name}: {result.median_ms:.1f} ms")
        results.append(result)
    return results


def table(results: list[Measure]) -> str:
    width = max([len(r.label) for r in results] + [len("Scénario")])
    lines = [
        f"{'Scénario':<{width}}  {'médiane':>9}  {'p95':>9}  {'CPU':>8}  {'requêtes':>8}  cible",
        "-" * (width + 52),
    ]
    for r in results:
        verdict = ("ok" if r.within_targets else "HORS CIBLE") if r.targeted else "—"
        if r.targeted and r.target_ms:
            verdict += f" (< {r.target_ms:.0f} ms)"
        lines.append(
            f"{r.label:<{width}}  {r.median_ms:>6.1f} ms  {r.p95_ms:>6.1f} ms  "
            f"{r.cpu_ms:>5.1f} ms  {r.queries:>8}  {verdict}"
        )
    lines.append(f"(cible : médiane < {TARGET_MEDIAN_MS} ms et au plus {TARGET_QUERIES} requêtes)")
    lines.append("(CPU : temps processeur médian de ce processus par mesure, hors base de données)")
    lines.append(f"(pages « Page : » : médiane < {PAGE_TARGET_MS:g} ms, ou leur cible propre)")
    for r in results:
        if r.name == INTAKE_SCENARIO:
            ok = r.queries <= INTAKE_MAX_STATEMENTS and r.cpu_ms <= INTAKE_MAX_CPU_MS
            lines.append(
                f"Dépôt : {r.queries} requêtes SQL et {r.cpu_ms:.1f} ms de CPU par demande "
                f"(cible : au plus {INTAKE_MAX_STATEMENTS} requêtes et {INTAKE_MAX_CPU_MS:g} ms)"
                f" : {'ok' if ok else 'HORS CIBLE'}"
            )
    for r in results:
        if r.target_ms is not None and r.target_ms != PAGE_TARGET_MS:
            lines.append(f"({r.label} : cible propre, médiane < {r.target_ms:g} ms)")
    return "\n".join(lines)
