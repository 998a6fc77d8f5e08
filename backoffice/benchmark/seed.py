"""Seed N realistic tickets for ``make bench``, fast.

PostgreSQL: rows are generated in Python and streamed with ``COPY … FROM STDIN``
(psycopg's ``cursor.copy()``); 1,000,000 tickets take about a minute on two cores.
SQLite: ``bulk_create`` in large batches (the default N of 100,000 is fine; a million works
but takes several minutes).

Bench rows are recognisable by their reference (``BN-YYYY-NNNNNNN``) and their requesters'
domain (``@bench.example``); a second run with the same N reuses them, another N replaces
them. Nothing else in the database is touched.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from accounts.staff.models import Role, User
from establishments.models import RegistryEstablishment
from tickets.models import (
    EventKind,
    MessageKind,
    Motif,
    Queue,
    RoutingRule,
    Source,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)

REFERENCE_PREFIX = "BN-"
EMAIL_DOMAIN = "bench.example"
BENCH_PASSWORD = "Bench-ActivitePartielle-2026"
# The harness logs in as the first agent; the others share the queues' work.
AGENTS = [
    ("bench.agent@bench.example", ["habilitation", "general"]),
    ("bench.agent2@bench.example", ["habilitation", "indemnisation"]),
    ("bench.agent3@bench.example", ["habilitation", "etablissement"]),
    ("bench.agent4@bench.example", ["indemnisation", "certificats"]),
    ("bench.agent5@bench.example", ["etablissement", "general"]),
    ("bench.agent6@bench.example", ["certificats", "general"]),
    ("bench.agent7@bench.example", ["habilitation", "indemnisation", "general"]),
    ("bench.agent8@bench.example", ["indemnisation", "etablissement", "certificats"]),
]
SUPERVISOR = "bench.superviseur@bench.example"

MOTIF_WEIGHTS = {
    Motif.HABILITATION_EXTRANET: 35,
    Motif.DEMANDE_INDEMNISATION: 25,
    Motif.FICHE_ETABLISSEMENT: 12,
    Motif.DECISION_AUTORISATION: 10,
    Motif.CERTIFICAT_SIGNATURE: 8,
    Motif.AUTRES: 10,
}
# Tickets older than RECENT_DAYS are nearly all closed; recent ones are mostly open.
RECENT_DAYS = 60
OLD_STATUS_WEIGHTS = {
    Status.CLOS: 930, Status.RESOLU: 50, Status.EN_ATTENTE: 10, Status.EN_COURS: 5,
    Status.NOUVEAU: 5,
}  # fmt: skip
RECENT_STATUS_WEIGHTS = {
    Status.NOUVEAU: 25, Status.EN_COURS: 25, Status.EN_ATTENTE: 15, Status.RESOLU: 20,
    Status.CLOS: 15,
}  # fmt: skip
SPAN_DAYS = 730
EVENT_SAMPLE_EVERY = 10  # tickets with a full timeline: one in ten
HOT_SIRET_SHARE = 0.3  # share of tickets on a small set of often-seen SIRETs

_WORDS = (
    "Boulangerie Garage Transports Hôtel Pharmacie Atelier Cabinet Restaurant Librairie "
    "Menuiserie Plomberie Imprimerie Fromagerie Brasserie Optique Pressing Camping Traiteur"
).split()
_PLACES = (
    "du Marché des Remparts de la Gare du Centre du Port des Halles du Lac de l'Église "
    "Saint-Louis des Vignes"
).split(" ")
_FIRST = "Claire Marc Julie Paul Nadia Sophie Louis Emma Hugo Léa Karim Inès Thomas Chloé".split()
_LAST = "Dupont Martin Bernard Lefèvre Hoarau Petit Durand Leroy Moreau Roux Fournier".split()
# What requesters write, for the search box's bench (a common word: "extranet"; a rare
# one: RARE_WORD, in one Habilitation request in RARE_EVERY).
_DESCRIPTIONS = (
    "Je n'ai plus accès à l'extranet activité partielle, merci.",
    "L'ancienne gestionnaire a quitté l'entreprise, nous n'avons plus accès à l'extranet.",
    "Notre demande d'indemnisation du mois dernier n'a pas été versée.",
    "La fiche établissement affiche une mauvaise adresse depuis le déménagement.",
    "Le certificat de signature électronique a expiré, impossible de valider la demande.",
    "Nous attendons la décision d'autorisation depuis trois semaines.",
    "Le mot de passe de l'extranet est refusé malgré la réinitialisation.",
    "Erreur sur le nombre d'heures chômées déclarées pour deux salariés.",
)
RARE_WORD = "orfèvrerie"
RARE_EVERY = 10000


@dataclass
class SeedResult:
    tickets: int = 0
    events: int = 0
    messages: int = 0
    registry: int = 0
    seconds: float = 0.0
    reused: bool = False
    agent: User | None = None
    supervisor: User | None = None
    notes: list[str] = field(default_factory=list)


def _luhn_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def _random_siret(rng: random.Random) -> str:
    siren = f"{rng.randint(10_000_000, 99_999_999)}"
    siren += _luhn_digit(siren)
    siret = f"{siren}{rng.randint(1, 9999):04d}"
    return siret + _luhn_digit(siret)


def bench_users() -> tuple[User, User]:
    queues = {q.slug: q for q in Queue.objects.all()}
    agents = []
    for email, slugs in AGENTS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=BENCH_PASSWORD, first_name="Agent",
                last_name=email.split("@")[0].replace("bench.", "").title(), role=Role.AGENT,
            )  # fmt: skip
        for slug in slugs:
            if slug in queues:
                queues[slug].members.add(user)
        agents.append(user)
    supervisor = User.objects.filter(email=SUPERVISOR).first() or User.objects.create_user(
        email=SUPERVISOR, password=BENCH_PASSWORD, first_name="Superviseure",
        last_name="Bench", role=Role.SUPERVISOR,
    )  # fmt: skip
    return agents[0], supervisor


def bench_ticket_count() -> int:
    return Ticket.objects.filter(reference__startswith=REFERENCE_PREFIX).count()


def bench_rows_delete() -> None:
    """Delete the bench tickets and every row that points at them, in SQL (the ORM's
    cascade would load a million objects)."""
    # Reassignments protect their tickets: the bench ones go first.
    from .reassignments import bench_reassignments_delete

    bench_reassignments_delete()
    qn = connection.ops.quote_name
    table = qn(Ticket._meta.db_table)
    subquery = f"SELECT id FROM {table} WHERE reference LIKE %s"
    with transaction.atomic(), connection.cursor() as cursor:
        for relation in Ticket._meta.related_objects:
            model = relation.related_model
            column = qn(relation.field.column)
            if relation.many_to_many or not relation.field.concrete:
                continue
            cursor.execute(
                f"DELETE FROM {qn(model._meta.db_table)} WHERE {column} IN ({subquery})",
                [REFERENCE_PREFIX + "%"],
            )
        cursor.execute(f"DELETE FROM {table} WHERE reference LIKE %s", [REFERENCE_PREFIX + "%"])


def _weighted(rng: random.Random, weights: dict, k: int) -> list:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def _generate(n: int, *, now: datetime, rng: random.Random, first_id: int):
    """Yield (ticket row, timeline or None, siret) in created_at order, ids ascending.

    Every database read happens here, before the first row is yielded: on PostgreSQL the
    rows are consumed inside a COPY, during which the connection can run nothing else.
    """
    rules = {r.motif: r for r in RoutingRule.objects.select_related("queue")}
    default_queue = Queue.objects.get(is_default=True)
    members: dict[int, list[int]] = {}
    for queue in Queue.objects.prefetch_related("members"):
        members[queue.pk] = [u.pk for u in queue.members.all() if u.email.endswith(EMAIL_DOMAIN)]
    return _rows(n, now=now, rng=rng, first_id=first_id, rules=rules,
                 default_queue=default_queue, members=members)  # fmt: skip


def _rows(n, *, now, rng, first_id, rules, default_queue, members):
    pool = [_random_siret(rng) for _ in range(max(1000, n // 5))]
    hot = pool[: max(20, len(pool) // 100)]
    start = now - timedelta(days=SPAN_DAYS)
    span = SPAN_DAYS * 86400.0
    offsets = sorted(rng.random() * span for _ in range(n))
    motifs = _weighted(rng, MOTIF_WEIGHTS, n)
    old_statuses = _weighted(rng, OLD_STATUS_WEIGHTS, n)
    recent_statuses = _weighted(rng, RECENT_STATUS_WEIGHTS, n)
    recent_from = span - RECENT_DAYS * 86400.0
    year_counter: dict[int, int] = {}
    habilitation_rows = 0

    for i in range(n):
        created = start + timedelta(seconds=offsets[i])
        motif = motifs[i]
        rule = rules.get(motif)
        queue_id = rule.queue_id if rule else default_queue.pk
        priority = rule.priority if rule else 20
        status = recent_statuses[i] if offsets[i] >= recent_from else old_statuses[i]
        queue_members = members.get(queue_id) or [None]
        if status == Status.NOUVEAU and rng.random() < 0.85:
            assignee = None
        else:
            assignee = rng.choice(queue_members)
        first_response = resolved = closed = None
        if status != Status.NOUVEAU:
            first_response = created + timedelta(hours=rng.uniform(0.5, 48))
        if status in (Status.RESOLU, Status.CLOS):
            resolved = first_response + timedelta(days=rng.uniform(0.2, 10))
        if status == Status.CLOS:
            closed = resolved + timedelta(days=7)
        updated = closed or resolved or first_response or created
        year = created.year
        year_counter[year] = year_counter.get(year, 0) + 1
        siret = rng.choice(hot) if rng.random() < HOT_SIRET_SHARE else rng.choice(pool)
        word, place = rng.choice(_WORDS), rng.choice(_PLACES)
        # The rare word goes to Habilitation requests (the bench agent's queue).
        if motif == Motif.HABILITATION_EXTRANET:
            habilitation_rows += 1
        rare = motif == Motif.HABILITATION_EXTRANET and habilitation_rows % RARE_EVERY == 1
        row = {
            "id": first_id + i,
            "reference": f"{REFERENCE_PREFIX}{year}-{year_counter[year]:07d}",
            "siret": siret,
            "denomination": f"{word} {place}",
            "requester_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "phone": f"+3310203{i % 10000:04d}",
            "email": f"demandeur{first_id + i}@{EMAIL_DOMAIN}",
            "motif": motif,
            "description": rng.choice(_DESCRIPTIONS)
            + (f" Atelier d'{RARE_WORD} familial." if rare else ""),
            "source": Source.API if i % 3 else Source.FORM,
            "establishment_id": None,
            "queue_id": queue_id,
            "assignee_id": assignee,
            "status": status,
            "priority": priority,
            "version": 1,
            "created_at": created,
            "updated_at": updated,
            "first_response_at": first_response,
            "resolved_at": resolved,
            "closed_at": closed,
            "sla_first_response_due": created
            + timedelta(hours=rule.first_response_hours if rule else 8),
            "sla_resolution_due": created + timedelta(hours=rule.resolution_hours if rule else 40),
        }
        timeline = None
        if i % EVENT_SAMPLE_EVERY == 0:
            timeline = _timeline(row, rule, rule.queue.slug if rule else default_queue.slug)
        yield row, timeline, siret


_PATH = {
    Status.NOUVEAU: [],
    Status.EN_COURS: [Status.EN_COURS],
    Status.EN_ATTENTE: [Status.EN_COURS, Status.EN_ATTENTE],
    Status.RESOLU: [Status.EN_COURS, Status.RESOLU],
    Status.CLOS: [Status.EN_COURS, Status.RESOLU, Status.CLOS],
}


def _timeline(row: dict, rule, queue_slug: str) -> tuple[list[tuple], list[tuple]]:
    """Events and messages of one ticket: (ticket_id, kind, actor_id, data, created_at)
    and (ticket_id, kind, author_id, body, created_at)."""
    tid, created, actor = row["id"], row["created_at"], row["assignee_id"]
    events = [
        (tid, EventKind.CREATED, None, {"source": row["source"], "motif": row["motif"]}, created),
        (tid, EventKind.ROUTED, None, {"queue": queue_slug, "rule_id": rule.pk if rule else None},
         created),
    ]  # fmt: skip
    messages = [(tid, MessageKind.REQUEST, None, row["description"], created)]
    at = row["first_response_at"] or created
    if actor:
        events.append((tid, EventKind.ASSIGNED, actor, {"after": actor}, at))
    before = Status.NOUVEAU
    for step in _PATH[row["status"]]:
        when = {Status.RESOLU: row["resolved_at"], Status.CLOS: row["closed_at"]}.get(step, at)
        events.append((tid, EventKind.STATUS_CHANGED, actor, {"before": before, "after": step},
                       when))  # fmt: skip
        before = step
    if row["first_response_at"]:
        messages.append((tid, MessageKind.REPLY, actor, "Bonjour, voici la marche à suivre.", at))
    return events, messages


def seed(*, n: int, rng_seed: int = 2026, reseed: bool = False, log=print) -> SeedResult:
    result = SeedResult()
    result.agent, result.supervisor = bench_users()
    existing = bench_ticket_count()
    if existing == n and not reseed:
        result.reused = True
        result.tickets = n
        return result
    started = time.monotonic()
    if existing:
        log(f"Suppression des {existing} tickets de bench précédents…")
        bench_rows_delete()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    first_id = (Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    rows = _generate(n, now=now, rng=rng, first_id=first_id)
    sirets: set[str] = set()
    if connection.vendor == "postgresql":
        _copy_postgresql(rows, result, sirets, log)
    else:
        _bulk_create(rows, result, sirets, log)
    result.registry = _registry(sirets, rng)
    _analyze()
    result.seconds = time.monotonic() - started
    return result


_TICKET_COLUMNS = [
    "id", "reference", "siret", "denomination", "requester_name", "phone", "email", "motif",
    "description", "source", "establishment_id", "queue_id", "assignee_id", "status",
    "priority", "version", "created_at", "updated_at", "first_response_at", "resolved_at",
    "closed_at", "sla_first_response_due", "sla_resolution_due",
]  # fmt: skip


def _copy_postgresql(rows, result: SeedResult, sirets: set, log) -> None:
    import json

    qn = connection.ops.quote_name
    events: list[tuple] = []
    messages: list[tuple] = []
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        # Building an index once over a million rows is several times faster than updating
        # it a million times: the secondary indexes (not those behind a primary key or a
        # unique constraint) are dropped for the COPY and rebuilt from their own
        # definitions afterwards, in the same transaction.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        dropped = []
        for model in (Ticket, TicketEvent, TicketMessage):
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                dropped.append(definition)
                cursor.execute(f"DROP INDEX {name}")
        columns = ", ".join(qn(c) for c in _TICKET_COLUMNS)
        with raw.copy(f"COPY {qn(Ticket._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row, timeline, siret in rows:
                copy.write_row([row[c] for c in _TICKET_COLUMNS])
                sirets.add(siret)
                result.tickets += 1
                if timeline:
                    events.extend(timeline[0])
                    messages.extend(timeline[1])
                if result.tickets % 200_000 == 0:
                    log(f"  {result.tickets} tickets…")
        with raw.copy(
            f"COPY {qn(TicketEvent._meta.db_table)} (ticket_id, kind, actor_id, data, created_at)"
            " FROM STDIN"
        ) as copy:
            for tid, kind, actor, data, at in events:
                copy.write_row([tid, kind, actor, json.dumps(data), at])
        with raw.copy(
            f"COPY {qn(TicketMessage._meta.db_table)} (ticket_id, kind, author_id, body, "
            "created_at) FROM STDIN"
        ) as copy:
            for values in messages:
                copy.write_row(list(values))
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check them now, since
        # PostgreSQL builds no index on a table with pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        log(f"  reconstruction de {len(dropped)} index…")
        for definition in dropped:
            cursor.execute(definition)
        # Explicit ids were copied: move the sequence past them.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM "
            f"{qn(Ticket._meta.db_table)}))",
            [Ticket._meta.db_table],
        )
    result.events, result.messages = len(events), len(messages)


def _bulk_create(rows, result: SeedResult, sirets: set, log, batch: int = 5000) -> None:
    tickets: list[Ticket] = []
    events: list[TicketEvent] = []
    messages: list[TicketMessage] = []

    def flush():
        Ticket.objects.bulk_create(tickets, batch_size=batch)
        TicketEvent.objects.bulk_create(events, batch_size=batch)
        TicketMessage.objects.bulk_create(messages, batch_size=batch)
        result.events += len(events)
        result.messages += len(messages)
        tickets.clear()
        events.clear()
        messages.clear()

    with transaction.atomic():
        for row, timeline, siret in rows:
            tickets.append(Ticket(**row))
            sirets.add(siret)
            result.tickets += 1
            if timeline:
                events.extend(
                    TicketEvent(ticket_id=t, kind=k, actor_id=a, data=d, created_at=c)
                    for t, k, a, d, c in timeline[0]
                )
                messages.extend(
                    TicketMessage(ticket_id=t, kind=k, author_id=a, body=b, created_at=c)
                    for t, k, a, b, c in timeline[1]
                )
            if len(tickets) >= batch:
                flush()
                if result.tickets % 100_000 == 0:
                    log(f"  {result.tickets} tickets…")
        flush()


def _registry(sirets: set[str], rng: random.Random) -> int:
    """Registry rows for most SIRETs seen on tickets (a tenth unknown, a tenth closed)."""
    rows = []
    for siret in sorted(sirets):
        draw = rng.random()
        if draw < 0.1:
            continue
        rows.append(
            RegistryEstablishment(
                siret=siret,
                siren=siret[:9],
                administrative_status="F" if draw > 0.9 else "A",
                denomination=f"{rng.choice(_WORDS)} {rng.choice(_PLACES)}".upper(),
                street_name="RUE DE LA REPUBLIQUE",
                postal_code="75011",
                city="PARIS",
            )
        )
    RegistryEstablishment.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)


def _analyze() -> None:
    """Fresh statistics for the planner. On PostgreSQL, VACUUM also sets the visibility
    map, without which index-only scans read the table anyway (autovacuum would do it in
    production some time after a bulk load)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (Ticket, TicketEvent, TicketMessage, RegistryEstablishment):
                table = connection.ops.quote_name(model._meta.db_table)
                # VACUUM cannot run inside a transaction (a test's, for instance).
                vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
                cursor.execute(f"{vacuum} {table}")
        else:
            cursor.execute("ANALYZE")
