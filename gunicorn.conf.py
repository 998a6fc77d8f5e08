"""gunicorn's configuration, read from the working directory by every ``gunicorn`` started
here: ``make run`` (the Procfile's web process), production (``gunicorn backoffice.wsgi``
from the project's folder, with ``--bind`` and ``--workers``), ``make bench``'s load test.

Logs (README.md, "Running it"): the access log goes to stdout (``GUNICORN_ACCESS_LOG``: a
file, or ``-``), the error log to stderr (``GUNICORN_ERROR_LOG``), both through
``RedactingGunicornLogger`` (``backoffice/ops/secret_urls.py``): the token of a link URL
and the values of a query string are masked in every atom (request line, path, query,
referer, headers) before the line is written. The access format leaves out the referer and
the user agent. Every record the master writes is redacted too (``secret_urls.install``).

Without ``--bind``/``--workers`` on the command line: ``HOST``:``PORT`` (127.0.0.1:8000),
``WEB_CONCURRENCY`` worker processes (1: ``make run``'s memory cache is per process) with
``GUNICORN_THREADS`` threads each (4: gunicorn's gthread worker). A request here spends much
of its time waiting for PostgreSQL and Redis (intake: five statements and a publish); a
synchronous worker sits idle meanwhile, a threaded one serves another request (README.md,
"Production: several machines").

Prometheus' multiprocess mode: each worker process writes its request latencies to files in
``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics``, whichever worker answers, sums them all.
The folder must be set before any worker imports prometheus-client (here, in the master)
and emptied at each start (figures of a previous run would be added to this one's). Given
by the operator, it is used as is; otherwise each gunicorn gets a folder of its own,
removed when it stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from backoffice.ops import secret_urls

secret_urls.install()
logger_class = "backoffice.ops.secret_urls.RedactingGunicornLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

_own_folder = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_folder:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="apsupport-prometheus-")
_folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
_folder.mkdir(parents=True, exist_ok=True)
for _stale in _folder.glob("*.db"):
    _stale.unlink()


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    # Imported here, in the hook, once the folder is set (the import reads it).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ARG001
    if _own_folder:
        shutil.rmtree(_folder, ignore_errors=True)
