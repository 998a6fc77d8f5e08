"""What the outbox needs from the apps at run time, registered by the apps themselves (in
their ``AppConfig.ready``), so that the worker imports no domain code.

* **Job handlers**: ``register_job(kind, run, retain=…)``. A job of that kind is run by
  calling ``run(job)`` inside the worker's transaction; ``retain`` is how long finished
  jobs of that kind are kept (None: kept, like e-mails).
* **Secret links**: an e-mail whose context has ``{"secret_link": {"kind": k, …}}`` gets its
  token drawn at send time by ``issue(spec)`` (returns extra template context, or None when
  the link lost its object: the e-mail is then cancelled) and, once sent, ``sent(spec)`` is
  called in the worker's transaction. So the token is in the message only, never in the
  outbox row.
* **Signals** ``email_sent(sender=OutboxJob, email=…)`` and ``email_failed(…, error=…)``:
  sent in the worker's transaction when an e-mail leaves or is given up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import OutboxJob

email_sent = Signal()
email_failed = Signal()


@dataclass(frozen=True)
class JobHandler:
    kind: str
    run: Callable[[OutboxJob], Any]
    retain: timedelta | None = None


@dataclass(frozen=True)
class LinkIssuer:
    kind: str
    issue: Callable[[dict], dict | None]
    sent: Callable[[dict], None] | None = None


_jobs: dict[str, JobHandler] = {}
_link_issuers: dict[str, LinkIssuer] = {}


def register_job(
    kind: str, run: Callable[[OutboxJob], Any], *, retain: timedelta | None = None
) -> None:
    _jobs[kind] = JobHandler(kind=kind, run=run, retain=retain)


def job_handler(kind: str) -> JobHandler:
    try:
        return _jobs[kind]
    except KeyError:
        raise LookupError(f"No outbox job handler registered for {kind!r}.") from None


def job_handlers() -> list[JobHandler]:
    return list(_jobs.values())


def register_link_issuer(
    kind: str,
    issue: Callable[[dict], dict | None],
    sent: Callable[[dict], None] | None = None,
) -> None:
    _link_issuers[kind] = LinkIssuer(kind=kind, issue=issue, sent=sent)


def link_issuer(kind: str) -> LinkIssuer:
    try:
        return _link_issuers[kind]
    except KeyError:
        raise LookupError(f"No secret-link issuer registered for {kind!r}.") from None
