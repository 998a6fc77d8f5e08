"""Bounded loopback load test: gunicorn on 127.0.0.1, wrk against it, a few seconds per
scenario. Prints requests per second and latency percentiles beside the bare Django JSON
view (/healthz) served the same way, as a ratio.

    python -m bench.load [--duration 10] [--connections 16] [--workers 2]

Uses the configured database and broker (DATABASE_URL, CELERY_BROKER_URL): run it with
the production-like services to get production-like figures. Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.auth import NoRedirect

ROOT = Path(__file__).resolve().parents[1]

# One script for every scenario: which paths to ask (rotated), what each answer must be (a
# status and a marker of the expected page's content), and the summary. Each wrk thread
# counts the answers that are not what was expected; `done` adds them up. A redirect to
# the login page, an error page or a page of the wrong kind is counted, so a run that does
# not measure what it names fails instead of printing a fast figure.
CHECKED_LUA = """
local threads = {}
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
init = function(args)
  paths = {}
  for p in string.gmatch(os.getenv("BENCH_PATHS"), "[^\\n]+") do table.insert(paths, p) end
  expect = tonumber(os.getenv("BENCH_EXPECT"))
  marker = os.getenv("BENCH_MARKER")
  cookie = os.getenv("BENCH_COOKIE") or ""
  api_key = os.getenv("BENCH_API_KEY") or ""
  intake = os.getenv("BENCH_INTAKE") == "1"
  stamp = os.getenv("BENCH_STAMP") or "0"
  counter = 0
  unexpected = 0
  first_unexpected = ""
end
request = function()
  counter = counter + 1
  if intake then
    local body = string.format(
      '{"siret":"73282932000074","denomination":"Charge","requester_name":"Test Charge",' ..
      '"phone":"01 02 03 04 05","email":"charge-%s-%d-%d@exemple.fr","motif":"autres",' ..
      '"description":"Test de charge"}', stamp, tid, counter)
    return wrk.format("POST", paths[1],
      {["Content-Type"] = "application/json", ["X-API-Key"] = api_key}, body)
  end
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end
response = function(status, headers, body)
  if status ~= expect or body == nil or not string.find(body, marker, 1, true) then
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = status .. " " .. (headers["Location"] or "") .. " " ..
        string.gsub(string.sub(body or "", 1, 160), "%s+", " ")
    end
  end
end
done = function(summary, latency, requests)
  local bad = 0
  local example = ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    if example == "" then example = t:get("first_unexpected") or "" end
  end
  local errors = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"unexpected":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), bad,
    errors.connect + errors.read + errors.write + errors.timeout))
  io.write("BENCH_EXAMPLE " .. example .. "\\n")
end
"""


@dataclass(frozen=True)
class LoadScenario:
    """One row of the HTTP table: the paths wrk asks in turn, the status and the content
    marker every answer must carry, and how the request is authenticated."""

    name: str
    paths: tuple[str, ...]
    expect: int
    marker: str
    cookie: str = ""
    api_key: str = ""
    intake: bool = False


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    unexpected: int
    socket_errors: int
    example: str = ""
    # The share of the row's CPU time the busiest gunicorn worker took (0.5: even, with two).
    busiest_share: float | None = None

    @property
    def failed(self) -> bool:
        return self.requests == 0 or self.unexpected > 0 or self.socket_errors > 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {url}")


# The requests the load test creates: intake rows and upload rows (see CHECKED_LUA and
# upload_documents), by their e-mail addresses.
LOAD_EMAILS = r"^(charge|upload)-[0-9]+-[0-9-]+@exemple\.fr$"


def remove_created(since) -> int:
    """Remove the requests this run created since ``since``, with what hangs on them (the
    rows by cascade, the uploaded files from the documents storage), so that every run
    measures the same base: 76,000 of them, left by earlier runs, made the in-process
    search of a common word walk past them all (108 ms instead of 11). Returns the
    number of requests removed."""
    # Local: bench/ runs as a script and imports project code after django.setup().
    from tickets.documents import storage_delete
    from tickets.models import Ticket, TicketDocument

    created = Ticket.objects.filter(created_at__gte=since, email__regex=LOAD_EMAILS)
    removed = 0
    while ids := list(created.values_list("id", flat=True)[:1000]):
        files = TicketDocument.objects.filter(ticket_id__in=ids).values_list(
            "storage_name", "preview_name"
        )
        names = [name for pair in files for name in pair if name]
        Ticket.objects.filter(id__in=ids).delete()
        storage_delete(names)
        removed += len(ids)
    return removed


def worker_connections(args) -> int:
    """How many of wrk's keep-alive connections one gunicorn worker may hold. wrk opens
    them all at once and keeps them for the whole row; with gunicorn's default (1,000 per
    worker), whichever worker woke first could accept them all and serve the row alone
    while the other idled: the same code measured twice as fast in one run as in the next.
    Capped so that every other worker is left at least as many connections as it has
    threads (12 of 16 with two workers of four threads), each worker keeps all its threads
    busy. The cap keeps some slack over an even share, so that a connection of the
    previous row that a worker has not closed yet cannot keep a new one waiting in the
    listen queue (with an exact share, 8, one run's filtered-queue row had p95 8.3 s and
    four requests timed out; the cause was not proven, and the next run was clean). The
    ``busiest`` column shows the spread each row got."""
    if args.worker_connections:
        return args.worker_connections
    even = -(-args.connections // args.workers)
    others = args.gunicorn_threads * (args.workers - 1)
    return max(even, args.connections - others, args.gunicorn_threads)


def worker_cpu(master_pid: int) -> dict[int, int]:
    """CPU clock ticks (user + system) of each gunicorn worker, the master's children
    (Linux ``/proc``); empty where ``/proc`` is not there."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return {}
    ticks = {}
    for pid in map(int, children):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def busiest_share(before: dict[int, int], after: dict[int, int]) -> float | None:
    """The busiest worker's part of the CPU the workers spent between two readings."""
    spent = [after[pid] - before.get(pid, 0) for pid in after]
    total = sum(spent)
    return max(spent) / total if total > 0 else None


def run_wrk(base: str, scenario: LoadScenario, *, duration, connections, threads) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(CHECKED_LUA)
    env = {
        **os.environ,
        "BENCH_PATHS": "\n".join(scenario.paths),
        "BENCH_EXPECT": str(scenario.expect),
        "BENCH_MARKER": scenario.marker,
        "BENCH_COOKIE": scenario.cookie,
        "BENCH_API_KEY": scenario.api_key,
        "BENCH_INTAKE": "1" if scenario.intake else "0",
        # A new request each time (the repeat rule would attach a second one with the
        # same SIRET, motif and e-mail to the first): e-mails unique to this run.
        "BENCH_STAMP": str(time.time_ns()),
    }
    try:
        completed = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
             "-s", script.name, base],
            capture_output=True, text=True, timeout=duration + 60, env=env,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    lines = completed.stdout.splitlines()
    line = next((ln for ln in lines if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(
            f"wrk gave no report for {scenario.name}:\n{completed.stdout}\n{completed.stderr}"
        )
    example = next((ln[14:] for ln in lines if ln.startswith("BENCH_EXAMPLE ")), "")
    data = json.loads(line[6:])
    seconds = data["duration_us"] / 1e6
    return Result(
        name=scenario.name,
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        unexpected=data["unexpected"],
        socket_errors=data["socket_errors"],
        example=example.strip(),
    )


def fetch(url: str, *, cookie: str = "") -> tuple[int, str]:
    """One GET (no redirect followed): status and body."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def preflight(base: str, scenario: LoadScenario) -> None:
    """Every GET path answers as expected once before wrk runs, with a readable reason if
    not (wrk's check repeats it on every answer)."""
    if scenario.intake:
        return
    for path in scenario.paths:
        status, body = fetch(base + path, cookie=scenario.cookie)
        if status != scenario.expect or scenario.marker not in body:
            raise SystemExit(
                f"{scenario.name}: GET {path} answered {status} without the marker "
                f"{scenario.marker!r}; the load test would not measure that page."
            )


UPLOAD_BYTES = 2 * 1024 * 1024


def _post(url: str, body: bytes, headers: dict) -> tuple[int, float]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, (time.perf_counter() - started) * 1000


def upload_documents(base: str, raw_key: str, *, count: int) -> Result:
    """``count`` uploads of a 2 MB PDF through the API, one after the other, each to its own
    new request (a ticket takes at most DOCUMENTS_PER_TICKET documents). Sequential: the
    figure is the latency of one upload over HTTP (multipart parsing, type check, hash,
    storage write, rows), not a saturation test."""
    stamp = time.strftime("%H%M%S")
    for i in range(count):
        status, _ms = _post(
            f"{base}/api/v1/assistance-requests",
            json.dumps({
                "siret": "73282932000074", "denomination": "Charge",
                "requester_name": "Test Charge",
                "phone": "01 02 03 04 05", "email": f"upload-{stamp}-{i}@exemple.fr",
                "motif": "habilitation_extranet", "description": "Test de charge (documents)",
            }).encode(),
            {"Content-Type": "application/json", "X-API-Key": raw_key},
        )  # fmt: skip
        if status != 201:
            raise SystemExit(f"intake for the upload test answered {status}")
    # Local: bench/ runs as a script and imports project code after django.setup().
    from tickets.models import Ticket

    references = list(
        Ticket.objects.filter(email__startswith=f"upload-{stamp}-")
        .order_by("id")
        .values_list("reference", flat=True)
    )
    payload = b"%PDF-1.4\n" + os.urandom(UPLOAD_BYTES - 9)
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nkbis\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="kbis.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-API-Key": raw_key}
    times, failures = [], 0
    started = time.perf_counter()
    for reference in references:
        status, ms = _post(
            f"{base}/api/v1/assistance-requests/{reference}/documents", body, headers
        )
        failures += status != 201
        times.append(ms)
    elapsed = time.perf_counter() - started
    times.sort()
    return Result(
        name=f"upload 2 MB POST …/documents (x{count}, sequential)",
        rps=len(times) / elapsed,
        p50_ms=times[len(times) // 2],
        p95_ms=times[min(len(times) - 1, int(len(times) * 0.95))],
        p99_ms=times[-1],
        requests=len(times),
        unexpected=failures,
        socket_errors=0,
    )


def load_scenarios(base: str, raw_key: str) -> list[LoadScenario]:
    """The HTTP table's rows after the bare view: logged in through the real login path
    (bench.auth), each with the marker of the page it names."""
    # Local: project code is importable only after django.setup() (main() does it).
    from django.urls import reverse
    from django.utils.html import escape

    from backoffice.benchmark.runner import context_build
    from backoffice.benchmark.seed import BENCH_PASSWORD, bench_users
    from bench.auth import enrolled_device, login_cookie
    from tickets.models import Ticket

    agent, supervisor = bench_users()
    ctx = context_build(agent=agent, supervisor=supervisor)
    agent_cookie = login_cookie(
        base, email=agent.email, password=BENCH_PASSWORD, device=enrolled_device(agent)
    )
    supervisor_cookie = login_cookie(
        base, email=supervisor.email, password=BENCH_PASSWORD, device=enrolled_device(supervisor)
    )
    queue_url = reverse("backoffice:queue", args=[ctx.queue.slug])
    filtered_url = reverse("backoffice:queue", args=[ctx.filter_queue.slug]) + (
        f"?status={ctx.filter_status}&motif={ctx.filter_motif}&assignee={ctx.filter_assignee_id}"
    )
    ctx.sample_siret = (
        Ticket.objects.filter(pk=ctx.sample_ticket_ids[0]).values_list("siret", flat=True).get()
    )
    ticket_urls = tuple(
        reverse("backoffice:ticket_detail", args=[pk]) for pk in ctx.sample_ticket_ids[:20]
    )
    followup_path, followup_cookie, followup_marker = followup_session(base, ctx.queue)
    return [
        LoadScenario(
            "intake POST /api/v1/assistance-requests",
            ("/api/v1/assistance-requests",),
            201,
            '"reference"',
            api_key=raw_key,
            intake=True,
        ),
        LoadScenario(
            f"queue page GET {queue_url}",
            (queue_url,),
            200,
            f"<h1>{escape(ctx.queue.name)} <span",
            cookie=agent_cookie,
        ),
        LoadScenario(
            "filtered queue page (supervisor)",
            (filtered_url,),
            200,
            f"<h1>{escape(ctx.filter_queue.name)} <span",
            cookie=supervisor_cookie,
        ),
        LoadScenario(
            f"ticket page ({len(ticket_urls)} tickets in turn)",
            ticket_urls,
            200,
            'id="reply-body"',
            cookie=agent_cookie,
        ),
        LoadScenario(
            "search by SIRET GET /backoffice/recherche/",
            (reverse("backoffice:search") + f"?q={ctx.sample_siret}",),
            200,
            'data-testid="search-results"',
            cookie=agent_cookie,
        ),
        LoadScenario(
            "requester's follow-up page GET /suivi/",
            (followup_path,),
            200,
            followup_marker,
            cookie=followup_cookie,
        ),
    ]


def followup_session(base: str, queue) -> tuple[str, str, str]:
    """A requester's follow-up session, opened as the requester opens it: the link of an
    e-mail (drawn the way the worker draws it), then the page it leads to."""
    # Local: project code is importable only after django.setup() (main() does it).
    import http.cookiejar

    from backoffice.benchmark.seed import REFERENCE_PREFIX
    from tickets.followup import followup_link_for_email, followup_link_issue
    from tickets.models import OPEN_STATUSES, Ticket

    ticket = (
        Ticket.objects.filter(
            queue=queue, status__in=OPEN_STATUSES, reference__startswith=REFERENCE_PREFIX
        )
        .order_by("-id")
        .first()
    )
    if ticket is None:
        raise SystemExit("no open bench ticket for the follow-up page: run `manage.py bench`")
    url = followup_link_issue(spec=followup_link_for_email(ticket=ticket))["followup_url"]
    landing = base + urllib.parse.urlsplit(url).path
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(landing, timeout=30) as response:
        status, final = response.status, response.url
    if status != 200 or not final.endswith("/suivi/"):
        raise SystemExit(f"follow-up link: {status} at {final}, expected the /suivi/ page")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return "/suivi/", cookie, ticket.reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--gunicorn-threads",
        type=int,
        default=int(os.environ.get("GUNICORN_THREADS") or 4),
        help="threads per gunicorn worker (gunicorn.conf.py's GUNICORN_THREADS; 4, the "
        "Procfile's; 1 is the sync worker)",
    )
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=0,
        help="gunicorn's --worker-connections (default: --connections less the other workers' "
        "threads, at least an even share; 1000, gunicorn's own default, lets one worker take "
        "them all)",
    )
    parser.add_argument("--uploads", type=int, default=20, help="2 MB document uploads")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: run only the rows whose name holds one (the bare view "
        "always runs, and the uploads only when 'upload' is asked)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120:
        parser.error("--duration is bounded to 1..120 seconds")
    if not 1 <= args.uploads <= 200:
        parser.error("--uploads is bounded to 1..200")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    # Local: project code is importable only after django.setup().
    from accounts.staff.models import ApiKey
    from accounts.staff.services import api_key_create

    ApiKey.objects.filter(name="bench-load").delete()
    raw_key = api_key_create(name="bench-load")[1]

    from django.utils import timezone

    started_at = timezone.now()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.gunicorn_threads),
         "--worker-connections", str(worker_connections(args)),
         "--access-logfile", "-", "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results: list[Result] = []
    common = {"duration": args.duration, "connections": args.connections, "threads": args.threads}
    try:
        wait_until_up(f"{base}/healthz")
        scenarios = [
            LoadScenario("bare JSON view (/healthz)", ("/healthz",), 200, '"status": "ok"'),
            *load_scenarios(base, raw_key),
        ]
        only = [word.strip() for word in args.only.split(",") if word.strip()]
        if only:
            scenarios = scenarios[:1] + [
                s for s in scenarios[1:] if any(word in s.name for word in only)
            ]
        for scenario in scenarios:
            preflight(base, scenario)
        for scenario in scenarios:
            before = worker_cpu(server.pid)
            result = run_wrk(base, scenario, **common)
            result.busiest_share = busiest_share(before, worker_cpu(server.pid))
            results.append(result)
        if not only or "upload" in only:
            results.append(upload_documents(base, raw_key, count=args.uploads))
    finally:
        server.terminate()
        server.wait(timeout=30)
        ApiKey.objects.filter(name="bench-load").delete()
        removed = remove_created(started_at)
        print(f"Removed the {removed} requests this run created (and their files).")

    print(table(results, args))
    failed = [r for r in results if r.failed]
    for r in failed:
        print(
            f"FAILED: {r.name}: {r.unexpected} unexpected answers, {r.socket_errors} socket "
            f"errors out of {r.requests}; first: {r.example or '—'}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def table(results: list[Result], args) -> str:
    bare = results[0].rps
    header = (
        f"{'scenario':<48} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'checked':>8} {'wrong':>6} {'vs bare':>8} {'busiest':>8}"
    )
    lines = [
        f"\nLoad test: gunicorn {args.workers} workers × "
        f"{getattr(args, 'gunicorn_threads', 1)} threads on "
        f"127.0.0.1, wrk {args.threads} "
        f"threads × {args.connections} connections, {args.duration} s per scenario; every "
        "answer checked (status and a marker of the page); busiest: the busiest worker's "
        f"share of the workers' CPU during the row ({1 / args.workers:.0%} is even)",
        header,
        "-" * len(header),
    ]
    for r in results:
        lines.append(
            f"{r.name:<48} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.requests:>8} {r.unexpected + r.socket_errors:>6} {r.rps / bare:>8.2f} "
            f"{_share(r.busiest_share):>8}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
