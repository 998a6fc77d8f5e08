"""The HTTP load test (`python -m bench.load`, run by `make bench`) measures the pages it
names: it logs in through the real login path, every scenario's page is checked before wrk
runs, and wrk counts every answer that is not the expected page, so a row of redirects to
the login page (issue 15) fails the run instead of printing a fast figure."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from django.core.management import call_command

from accounts.staff.services import api_key_create
from backoffice.benchmark.seed import BENCH_PASSWORD, bench_users
from bench import load
from bench.auth import LoginFailed, enrolled_device, login_cookie

# serialized_rollback: like every transactional test here (the data migrations' rows come back).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def bench_data():
    call_command("bench", "--n", "300", "--no-measure", stdout=io.StringIO())


def test_login_goes_through_password_and_code_and_opens_a_working_session(live_server):
    agent, _ = bench_users()
    cookie = login_cookie(
        live_server.url, email=agent.email, password=BENCH_PASSWORD, device=enrolled_device(agent)
    )
    status, body = load.fetch(f"{live_server.url}/backoffice/mes-tickets/", cookie=cookie)
    assert status == 200
    assert "Mes tickets" in body
    # Without the session, the same page is a redirect to the login page.
    assert load.fetch(f"{live_server.url}/backoffice/mes-tickets/")[0] == 302


def test_login_with_a_wrong_password_fails_loudly(live_server):
    agent, _ = bench_users()
    with pytest.raises(LoginFailed):
        login_cookie(
            live_server.url, email=agent.email, password="wrong", device=enrolled_device(agent)
        )


def test_every_scenario_answers_its_page_and_a_logged_out_one_is_refused(live_server, bench_data):
    raw_key = api_key_create(name="bench-load-test")[1]
    scenarios = load.load_scenarios(live_server.url, raw_key)
    names = [s.name for s in scenarios]
    assert any("queue page" in n for n in names)
    assert any("filtered queue" in n for n in names)
    assert any("ticket page" in n for n in names)
    assert any("follow-up" in n for n in names)
    assert any("search" in n for n in names)
    assert any(s.intake for s in scenarios)
    for scenario in scenarios:
        load.preflight(live_server.url, scenario)  # raises when a page is not the one named
    for scenario in scenarios:
        if scenario.cookie:
            logged_out = load.LoadScenario(
                scenario.name, scenario.paths, scenario.expect, scenario.marker
            )
            with pytest.raises(SystemExit, match="would not measure"):
                load.preflight(live_server.url, logged_out)


@pytest.fixture
def wrk():
    path = shutil.which("wrk")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("wrk is missing on CI (.ci/run installs it)")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    return path


def test_wrk_counts_every_unexpected_answer(live_server, bench_data, wrk):
    raw_key = api_key_create(name="bench-load-test")[1]
    queue = next(s for s in load.load_scenarios(live_server.url, raw_key) if "queue page" in s.name)
    options = {"duration": 1, "connections": 2, "threads": 1}

    good = load.run_wrk(live_server.url, queue, **options)
    assert good.requests > 0
    assert good.unexpected == 0
    assert not good.failed

    # The same page without the session: every answer is a redirect to the login page.
    logged_out = load.run_wrk(
        live_server.url, load.LoadScenario(queue.name, queue.paths, 200, queue.marker), **options
    )
    assert logged_out.requests > 0
    assert logged_out.unexpected == logged_out.requests
    assert logged_out.failed
    assert logged_out.example.startswith("302 ")

    # Logged in, but the page does not carry the expected marker.
    wrong_page = load.run_wrk(
        live_server.url,
        load.LoadScenario(queue.name, queue.paths, 200, "not on this page", cookie=queue.cookie),
        **options,
    )
    assert wrong_page.failed
    assert wrong_page.unexpected == wrong_page.requests


def test_the_run_fails_when_a_row_failed(capsys):
    ok = load.Result("bare", 100.0, 1, 2, 3, requests=10, unexpected=0, socket_errors=0)
    bad = load.Result("queue", 50.0, 1, 2, 3, requests=10, unexpected=4, socket_errors=0)
    assert not ok.failed and bad.failed
    text = load.table([ok, bad], type("A", (), {"workers": 2, "threads": 2, "connections": 16,
                                                "duration": 10})())  # fmt: skip
    assert "every answer checked" in text
    assert "0.50" in text  # the ratio to the bare view


def _args(**values):
    defaults = {"workers": 2, "connections": 16, "gunicorn_threads": 4, "worker_connections": 0}
    return type("A", (), {**defaults, **values})()


def test_no_gunicorn_worker_can_take_the_connections_the_others_need():
    # wrk's 16 keep-alive connections over 2 workers of 4 threads: one worker may hold 12,
    # leaving the other at least its 4 threads' worth.
    assert load.worker_connections(_args()) == 12
    assert load.worker_connections(_args(workers=4, gunicorn_threads=1)) == 13
    # Never under an even share, nor under the worker's threads (they would idle).
    assert load.worker_connections(_args(workers=4, gunicorn_threads=4)) == 4
    assert load.worker_connections(_args(connections=4)) == 4
    # An explicit value wins (1000: gunicorn's own default).
    assert load.worker_connections(_args(worker_connections=1000)) == 1000


def test_the_busiest_workers_share_shows_a_row_served_by_one_worker():
    assert load.busiest_share({1: 100, 2: 100}, {1: 600, 2: 600}) == 0.5
    assert load.busiest_share({1: 100, 2: 100}, {1: 1100, 2: 100}) == 1.0
    assert load.busiest_share({1: 5}, {1: 5}) is None  # nothing spent: nothing to say
    # A worker started during the row counts from zero.
    assert load.busiest_share({1: 100}, {1: 400, 3: 100}) == 0.75


def test_the_workers_cpu_is_read_from_the_masters_children():
    import subprocess
    import sys

    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', "
         "'import time; time.sleep(30)']); print(c.pid, flush=True); c.wait()"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    child = None
    try:
        child = int(parent.stdout.readline())
        ticks = load.worker_cpu(parent.pid)
        if not os.path.exists(f"/proc/{parent.pid}/task/{parent.pid}/children"):
            assert ticks == {}
        else:
            assert list(ticks) == [child]
            assert ticks[child] >= 0
    finally:
        parent.kill()
        parent.wait()
        if child is not None:
            os.kill(child, 9)
    assert load.worker_cpu(parent.pid) == {}  # gone: nothing to read
