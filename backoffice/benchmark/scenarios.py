"""The scenarios ``make bench`` measures: a registry of name → builder.

A builder receives the ``BenchContext`` (a logged-in agent's client, an API key, the bench
queue, sample tickets, deep keyset cursors) and returns a callable ``run(i)`` that does one
measured request or query; ``i`` is the run number, so a builder can vary what it asks for
(another ticket, another deep page) and keep caches honest. HTTP scenarios go through
``django.test.Client`` in-process: the time measured is Django's whole request handling
(middleware, view, template, SQL), without a network or a WSGI server.

Adding a back-office page is one function::

    @scenario("queue_first_page", "File Habilitation — 1re page")
    def queue_first_page(ctx):
        url = reverse("backoffice:queue", args=[ctx.queue.slug])
        return lambda i: ctx.get(url)

``ctx.get`` / ``ctx.post_json`` fail loudly on an unexpected status, so a page that breaks
cannot produce a fast, wrong figure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from accounts.staff.models import User
from backoffice.dashboard import dashboard_compute, dashboard_refresh, default_period
from backoffice.ops.metrics import metrics_rollup_refresh
from backoffice.savedviews.models import SavedView
from backoffice.savedviews.selectors import saved_views_nav_forget
from tickets.followup import followup_link_for_email, followup_link_issue
from tickets.models import OPEN_STATUSES, Motif, Queue, Status, Ticket
from tickets.selectors import _encode_cursor, queue_counts, queue_counts_forget

from .seed import RARE_WORD, REFERENCE_PREFIX


@dataclass
class BenchContext:
    agent: User
    supervisor: User
    queue: Queue
    api_key: str
    client: Client = field(default_factory=Client)
    api_client: Client = field(default_factory=Client)
    # Tickets with a full timeline, of the agent's queue (the ticket page rotates on them).
    sample_ticket_ids: list[int] = field(default_factory=list)
    # (created_at, id) cursors deep in the queue's closed tickets, for keyset pages.
    deep_cursors: list[tuple[datetime, int]] = field(default_factory=list)
    # A realistic filter: status + motif + assignee, in a queue that takes two motifs.
    filter_queue: Queue | None = None
    filter_status: str = Status.CLOS
    filter_motif: str = Motif.DECISION_AUTORISATION
    filter_assignee_id: int | None = None
    filter_deep_cursors: list[tuple[datetime, int]] = field(default_factory=list)
    # A ticket of the agent's queue with 20 messages and 20 documents (DESIGN.md section 9).
    documents_ticket_id: int | None = None

    def get(self, url: str, *, expect: int = 200, **extra):
        response = self.client.get(url, **extra)
        if response.status_code != expect:
            raise AssertionError(f"GET {url}: {response.status_code}, {expect} attendu")
        return response

    def post_json(self, url: str, body: dict, *, expect: int, client: Client | None = None,
                  **extra):  # fmt: skip
        response = (client or self.client).post(
            url, data=json.dumps(body), content_type="application/json", **extra
        )
        if response.status_code != expect:
            raise AssertionError(
                f"POST {url}: {response.status_code}, {expect} attendu: {response.content[:300]}"
            )
        return response


def session_login(client: Client, user: User) -> None:
    """Log ``user`` in on ``client`` the way the back-office requires.

    ``force_login`` opens the session. When the second factor is installed (django-otp),
    the session is also marked as verified with a confirmed TOTP device, exactly as
    django-otp's ``login()`` does after a good token, so that pages protected by
    ``otp_required`` answer as they do for a real agent.
    """
    client.force_login(user)
    if apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        from accounts.staff.second_factor import FINGERPRINT_SESSION_KEY, device_fingerprint

        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session[FINGERPRINT_SESSION_KEY] = device_fingerprint(device)
        session.save()


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    build: Callable[[BenchContext], Callable[[int], object]]
    # Held to issue 3's page targets (median < 100 ms, at most 12 queries)?
    targeted: bool = True
    # A median target of its own, in ms, instead of the pages' (None: the common one).
    target_ms: float | None = None


SCENARIOS: list[Scenario] = []


def scenario(name: str, label: str, *, targeted: bool = True, target_ms: float | None = None):
    def register(build):
        if any(s.name == name for s in SCENARIOS):
            raise ValueError(f"Scenario {name!r} registered twice.")
        SCENARIOS.append(
            Scenario(name=name, label=label, build=build, targeted=targeted, target_ms=target_ms)
        )
        return build

    return register


PAGE_SIZE = 25


def _page(qs, cursor: tuple[datetime, int] | None = None) -> list[Ticket]:
    """One keyset page, oldest first: ``(created_at, id) > cursor``.

    Written as ``created_at >= c AND (created_at > c OR id > i)``: the first term gives the
    index a starting point, so a deep page costs what the first page costs. (The OR alone
    makes the database read the index from the start up to the cursor.)
    """
    if cursor is not None:
        created, pk = cursor
        qs = qs.filter(Q(created_at__gte=created), Q(created_at__gt=created) | Q(id__gt=pk))
    return list(qs.select_related("queue", "assignee").order_by("created_at", "id")[:PAGE_SIZE])


# --- HTTP: the API operations that exist today ----------------------------------------


# Intake's target is throughput close to a bare JSON view (DESIGN.md section 9), not the
# page targets: it writes the ticket, its timeline and the acknowledgement e-mail.
@scenario("api_intake", "API : POST /api/v1/assistance-requests (nouvelle demande)", targeted=False)
def api_intake(ctx: BenchContext):
    url = "/api/v1/assistance-requests"
    stamp = datetime.now().strftime("%H%M%S")

    def run(i: int):
        ctx.post_json(
            url,
            {
                "siret": "73282932000074",
                "denomination": "Boulangerie du Marché",
                "requester_name": "Claire Dupont",
                "phone": "01 02 03 04 05",
                "email": f"intake{stamp}.{i}@bench.example",
                "motif": "habilitation_extranet",
                "description": "Je n'ai plus accès au compte.",
            },
            expect=201,
            client=ctx.api_client,
            HTTP_X_API_KEY=ctx.api_key,
        )

    return run


@scenario("api_siret_check", "API : GET /api/v1/tickets/{id}/siret-check")
def api_siret_check(ctx: BenchContext):
    ids = ctx.sample_ticket_ids
    return lambda i: ctx.get(f"/api/v1/tickets/{ids[i % len(ids)]}/siret-check")


@scenario("page_siret_verification", "Page : vérification du SIRET d'un ticket")
def page_siret_verification(ctx: BenchContext):
    ids = ctx.sample_ticket_ids
    return lambda i: ctx.get(reverse("backoffice:ticket_siret_verify", args=[ids[i % len(ids)]]))


# --- Raw selector timings: the keyset queries the queue pages are built on ------------


@scenario("sql_queue_first_page", "SQL : file, tickets ouverts, 1re page (keyset)")
def sql_queue_first_page(ctx: BenchContext):
    qs = Ticket.objects.filter(queue=ctx.queue, status__in=OPEN_STATUSES)
    return lambda i: _page(qs)


@scenario("sql_queue_deep_page", "SQL : file, tickets clos, page profonde (curseur)")
def sql_queue_deep_page(ctx: BenchContext):
    qs = Ticket.objects.filter(queue=ctx.queue, status=Status.CLOS)
    cursors = ctx.deep_cursors
    return lambda i: _page(qs, cursors[i % len(cursors)])


def _filtered(ctx: BenchContext):
    return Ticket.objects.filter(
        queue=ctx.filter_queue,
        status=ctx.filter_status,
        motif=ctx.filter_motif,
        assignee_id=ctx.filter_assignee_id,
    )


@scenario("sql_queue_filtered", "SQL : file filtrée (statut + motif + agent), 1re page")
def sql_queue_filtered(ctx: BenchContext):
    return lambda i: _page(_filtered(ctx))


@scenario("sql_queue_filtered_deep", "SQL : file filtrée, page profonde (curseur)")
def sql_queue_filtered_deep(ctx: BenchContext):
    qs, cursors = _filtered(ctx), ctx.filter_deep_cursors
    return lambda i: _page(qs, cursors[i % len(cursors)])


# Per queue: an index-only scan of the partial index on open tickets. (Per queue AND
# status needs the status in that index, or a rollup: the navigation counts' business.)
@scenario("sql_open_counts", "SQL : nombre de tickets ouverts par file")
def sql_open_counts(ctx: BenchContext):
    def run(i: int):
        return list(
            Ticket.objects.filter(status__in=OPEN_STATUSES)
            .values("queue_id")
            .annotate(n=Count("id"))
            .order_by()
        )

    return run


# --- The back-office pages and their API twins (issue 3's targets) --------------------


def _cursor(values) -> str:
    return _encode_cursor(list(values))


@scenario("page_queue_first", "Page : file, 1re page")
def page_queue_first(ctx: BenchContext):
    url = reverse("backoffice:queue", args=[ctx.queue.slug])
    return lambda i: ctx.get(url)


@scenario("page_queue_deep", "Page : file, tickets clos, page profonde (curseur)")
def page_queue_deep(ctx: BenchContext):
    base = reverse("backoffice:queue", args=[ctx.queue.slug]) + "?status=clos&after="
    urls = [base + _cursor(c) for c in ctx.deep_cursors]
    return lambda i: ctx.get(urls[i % len(urls)])


@scenario("page_queue_filtered", "Page : file filtrée (statut + motif + agent), superviseur")
def page_queue_filtered(ctx: BenchContext):
    # The filtered queue is not the bench agent's: a supervisor, who sees every queue.
    client = Client()
    session_login(client, ctx.supervisor)
    url = reverse("backoffice:queue", args=[ctx.filter_queue.slug]) + (
        f"?status={ctx.filter_status}&motif={ctx.filter_motif}&assignee={ctx.filter_assignee_id}"
    )

    def run(i: int):
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code}, 200 attendu")

    return run


@scenario("page_queue_sorted", "Page : file triée sur la priorité")
def page_queue_sorted(ctx: BenchContext):
    url = reverse("backoffice:queue", args=[ctx.queue.slug]) + "?sort=-priority"
    return lambda i: ctx.get(url)


@scenario("page_ticket", "Page : un ticket (timeline, messages, fiche établissement)")
def page_ticket(ctx: BenchContext):
    ids = ctx.sample_ticket_ids
    urls = [reverse("backoffice:ticket_detail", args=[pk]) for pk in ids]
    return lambda i: ctx.get(urls[i % len(urls)])


# Issue 10: the ticket page with the requester's side at its fullest.
@scenario(
    "page_ticket_documents",
    "Page : un ticket avec 20 messages et 20 documents",
    target_ms=40,
)
def page_ticket_documents(ctx: BenchContext):
    url = reverse("backoffice:ticket_detail", args=[ctx.documents_ticket_id])
    return lambda i: ctx.get(url)


# The requester's side (issue 10): the follow-up page, opened from the e-mail's link.
@scenario("page_followup", "Page : suivi de la demande par le demandeur (/suivi/)")
def page_followup(ctx: BenchContext):
    ticket = (
        Ticket.objects.filter(
            queue=ctx.queue, status__in=OPEN_STATUSES, reference__startswith=REFERENCE_PREFIX
        )
        .order_by("-id")
        .first()
    )
    url = followup_link_issue(spec=followup_link_for_email(ticket=ticket))["followup_url"]
    client = Client()
    landing = client.get(urlsplit(url).path)
    page = reverse("followup")
    if landing.status_code != 302 or landing.url != page:
        raise AssertionError(f"lien de suivi : {landing.status_code}, redirection attendue")
    marker = ticket.reference.encode()

    def run(i: int):
        response = client.get(page)
        if response.status_code != 200 or marker not in response.content:
            raise AssertionError(f"GET {page}: {response.status_code}, page de suivi attendue")

    return run


# The search box (issue 13): each kind of search, through the results page, at its own
# target. Every answer must be the results table (or, for a reference, the jump to it).
def _search(ctx: BenchContext, texts: list[str], *, expect: int = 200):
    urls = [reverse("backoffice:search") + "?" + urlencode({"q": t}) for t in texts]

    def run(i: int):
        response = ctx.get(urls[i % len(urls)], expect=expect)
        if expect == 200 and b'data-testid="search-results"' not in response.content:
            raise AssertionError(f"GET {urls[i % len(urls)]}: aucun résultat")

    return run


def _samples(ctx: BenchContext, field: str) -> list[str]:
    return list(
        Ticket.objects.filter(pk__in=ctx.sample_ticket_ids[:10]).values_list(field, flat=True)
    )


@scenario("search_reference", "Recherche : une référence (renvoie au ticket)", target_ms=50)
def search_reference(ctx: BenchContext):
    return _search(ctx, _samples(ctx, "reference"), expect=302)


@scenario("search_siret", "Recherche : un SIRET", target_ms=50)
def search_siret(ctx: BenchContext):
    return _search(ctx, _samples(ctx, "siret"))


@scenario("search_email", "Recherche : l'adresse d'un demandeur", target_ms=50)
def search_email(ctx: BenchContext):
    return _search(ctx, _samples(ctx, "email"))


@scenario("search_word_common", "Recherche : un mot fréquent (« extranet »)", target_ms=50)
def search_word_common(ctx: BenchContext):
    return _search(ctx, ["extranet"])


@scenario("search_word_rare", f"Recherche : un mot rare (« {RARE_WORD} »)", target_ms=50)
def search_word_rare(ctx: BenchContext):
    return _search(ctx, [RARE_WORD])


@scenario("page_queue_counts", "Compteurs des files (navigation, sans cache)")
def page_queue_counts(ctx: BenchContext):
    def run(i: int):
        queue_counts_forget(user=ctx.agent)
        return queue_counts(user=ctx.agent)

    return run


# Issue 13: saved views. A view of the agent's queue with two filters and a sort.
SAVED_VIEW_NAME = "Bench : nouveaux et en cours d'habilitation, par priorité"


def _saved_view(ctx: BenchContext) -> SavedView:
    view, _created = SavedView.objects.update_or_create(
        owner=ctx.agent,
        name=SAVED_VIEW_NAME,
        defaults={
            "scope": "queue",
            "queue": ctx.queue,
            "params": {
                "status": [Status.NOUVEAU, Status.EN_COURS],
                "motif": [Motif.HABILITATION_EXTRANET],
                "sort": ["-priority"],
            },
        },
    )
    return view


@scenario("page_saved_view", "Page : vue enregistrée (statut + motif, triée sur la priorité)")
def page_saved_view(ctx: BenchContext):
    url = reverse("backoffice:saved_view", args=[_saved_view(ctx).pk])
    return lambda i: ctx.get(url)


@scenario("page_saved_views_menu", "Menu « Mes vues » et ses compteurs (sans cache)")
def page_saved_views_menu(ctx: BenchContext):
    _saved_view(ctx)
    url = reverse("backoffice:saved_views")

    def run(i: int):
        saved_views_nav_forget(user=ctx.agent)
        return ctx.get(url, HTTP_HX_REQUEST="true")

    return run


@scenario("api_ticket_list", "API : GET /api/v1/tickets (file, 1re page)")
def api_ticket_list(ctx: BenchContext):
    url = f"/api/v1/tickets?queue={ctx.queue.slug}"
    return lambda i: ctx.get(url)


@scenario("api_ticket_detail", "API : GET /api/v1/tickets/{id}")
def api_ticket_detail(ctx: BenchContext):
    ids = ctx.sample_ticket_ids
    return lambda i: ctx.get(f"/api/v1/tickets/{ids[i % len(ids)]}")


# A beat job (dashboard-refresh, every minute), not a page: not held to the page targets.
@scenario(
    "page_dashboard_figures",
    "Tableau de bord : calcul du rollup par beat (sans cache)",
    targeted=False,
)
def page_dashboard_figures(ctx: BenchContext):
    start, end = default_period()
    return lambda i: dashboard_compute(period_start=start, period_end=end)


@scenario(
    "page_dashboard", "Page : tableau de bord (indicateurs du rollup, superviseur)", targeted=False
)
def page_dashboard(ctx: BenchContext):
    # As in production: beat's dashboard-refresh keeps the default view's figures in the
    # cache, and the page reads them (the cold computation is measured separately).
    client = Client()
    session_login(client, ctx.supervisor)
    url = reverse("backoffice:dashboard")
    dashboard_refresh()  # the rollup lives 2 minutes: far longer than the measurement

    def run(i: int):
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code}, 200 attendu")

    return run


# --- The operator's side ---------------------------------------------------------------


@scenario("metrics_scrape", "Exploitation : GET /metrics (Prometheus)", target_ms=50)
def metrics_scrape(ctx: BenchContext):
    # As in production: beat's rollup holds the domain figures; a scrape reads it, the
    # stored series and two outbox probes (never the ticket table).
    metrics_rollup_refresh()
    client = Client()  # from 127.0.0.1, or with the operator's token when one is set
    headers = {"HTTP_AUTHORIZATION": f"Bearer {settings.OPS_TOKEN}"} if settings.OPS_TOKEN else {}

    def run(i: int):
        response = client.get("/metrics", **headers)
        if response.status_code != 200 or b"apsupport_open_tickets" not in response.content:
            raise AssertionError(f"GET /metrics: {response.status_code}, 200 attendu")

    return run


# Beat's job (every minute), not a request: not held to a target, shown for its cost.
@scenario("metrics_rollup", "Exploitation : rollup des métriques par beat", targeted=False)
def metrics_rollup(ctx: BenchContext):
    return lambda i: metrics_rollup_refresh()


# --- Case 2.1: the supervisors' approval queue and approval page (issue 11) -------------


def _supervisor_client(ctx: BenchContext) -> Client:
    client = Client()
    session_login(client, ctx.supervisor)
    return client


@scenario(
    "page_reassignment_pending",
    "Page : réattributions en attente (signaux de risque calculés), superviseur",
)
def page_reassignment_pending(ctx: BenchContext):
    from accounts.extranet.models import AccountReassignment, ReassignmentState

    client = _supervisor_client(ctx)
    first = reverse("backoffice:reassignment_list")
    # The first page, then pages further down the queue (keyset cursors).
    pending = list(
        AccountReassignment.objects.filter(state=ReassignmentState.PREPARED)
        .order_by("prepared_at", "id")
        .values_list("prepared_at", "id")
    )
    urls = [first] + [
        f"{first}?apres={at.isoformat()}_{pk}".replace("+", "%2B")
        for at, pk in pending[25 : len(pending) : max(25, len(pending) // 5)]
    ]

    def run(i: int):
        url = urls[i % len(urls)]
        response = client.get(url)
        if response.status_code != 200 or b"pending-list" not in response.content:
            raise AssertionError(f"GET {url}: {response.status_code}, 200 attendu")

    return run


@scenario(
    "page_reassignment_approval",
    "Page : approbation d'une réattribution (dossier complet, signaux), superviseur",
)
def page_reassignment_approval(ctx: BenchContext):
    from accounts.extranet.models import AccountReassignment, ReassignmentState

    client = _supervisor_client(ctx)
    ids = list(
        AccountReassignment.objects.filter(state=ReassignmentState.PREPARED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not ids:
        raise RuntimeError("Aucune réattribution en attente : lancez le remplissage d'abord.")
    ids = ids[:: max(1, len(ids) // 30)]
    urls = [reverse("backoffice:reassignment_detail", args=[pk]) for pk in ids]

    def run(i: int):
        url = urls[i % len(urls)]
        response = client.get(url)
        if response.status_code != 200 or b"approve-form" not in response.content:
            raise AssertionError(f"GET {url}: {response.status_code}, 200 attendu")

    return run
