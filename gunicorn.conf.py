"""gunicorn's configuration, read from the working directory by every ``gunicorn`` started
here (production: ``gunicorn backoffice.wsgi``; ``make bench``'s load test).

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
