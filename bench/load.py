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
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

REPORT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""

INTAKE_LUA = """
local counter = 0
local thread_no = 0
setup = function(thread)
  thread:set("tid", thread_no)
  thread_no = thread_no + 1
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"siret":"73282932000074","denomination":"Charge","requester_name":"Test Charge",' ..
    '"phone":"01 02 03 04 05","email":"charge-%d-%d-%d@exemple.fr","motif":"autres",' ..
    '"description":"Test de charge"}', tid, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/v1/assistance-requests",
    {["Content-Type"] = "application/json", ["X-API-Key"] = os.getenv("BENCH_API_KEY")}, body)
end
"""

GET_WITH_COOKIE_LUA = """
request = function()
  return wrk.format("GET", os.getenv("BENCH_PATH"), {["Cookie"] = os.getenv("BENCH_COOKIE")})
end
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int


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


def run_wrk(name, url, lua_body, *, duration, connections, threads, env_extra=None) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_body + REPORT_LUA)
    try:
        completed = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            env={**os.environ, **(env_extra or {})},
        )
    finally:
        os.unlink(script.name)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no report for {name}:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line[6:])
    seconds = data["duration_us"] / 1e6
    return Result(
        name=name,
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
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
        non2xx=failures,
        socket_errors=0,
    )


def agent_session_cookie() -> str:
    """A logged-in session for the bench agent (see bench.auth)."""
    # Local: Django is set up by main() before anything project-side is imported.
    from bench.auth import bench_agent_session_cookie

    return bench_agent_session_cookie()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--uploads", type=int, default=20, help="2 MB document uploads")
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

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "backoffice.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: list[Result] = []
    try:
        wait_until_up(f"{base}/healthz")
        common = {
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
        }
        results.append(run_wrk("bare JSON view (/healthz)", f"{base}/healthz", "", **common))
        results.append(
            run_wrk(
                "intake POST /api/v1/assistance-requests",
                base,
                INTAKE_LUA,
                env_extra={"BENCH_API_KEY": raw_key},
                **common,
            )
        )
        results.append(upload_documents(base, raw_key, count=args.uploads))
        from bench.auth import load_scenarios

        cookie = agent_session_cookie()
        for name, path in load_scenarios():
            results.append(
                run_wrk(
                    name,
                    base,
                    GET_WITH_COOKIE_LUA,
                    env_extra={"BENCH_PATH": path, "BENCH_COOKIE": cookie},
                    **common,
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        ApiKey.objects.filter(name="bench-load").delete()

    bare = results[0].rps
    print(
        f"\nLoad test: gunicorn {args.workers} workers on 127.0.0.1, wrk {args.threads} "
        f"threads × {args.connections} connections, {args.duration} s per scenario"
    )
    header = (
        f"{'scenario':<48} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'vs bare':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<48} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.non2xx + r.socket_errors:>8} {r.rps / bare:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
