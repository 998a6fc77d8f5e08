"""Shared helpers of the accounts tests."""

from __future__ import annotations

import re

from captcha.models import CaptchaStore
from django.core import mail
from django.utils import timezone

from tickets.models import EventKind, SiretVerification
from tickets.services import ticket_event_record

LINK_RE = re.compile(
    r"(https?://\S+/(?:compte/(?:activation|reinitialisation)|opposition)/"
    r"([A-Za-z0-9_\-]+)/)"
)


def with_captcha(client, url: str, data: dict) -> dict:
    """What a visitor posts: the form loaded first (creating the challenge), then solved."""
    client.get(url)
    store = CaptchaStore.objects.order_by("-pk").first()
    return {**data, "captcha_0": store.hashkey, "captcha_1": store.response}


def links_in(message) -> list[tuple[str, str]]:
    """(url, token) of every secret link in an e-mail body."""
    return LINK_RE.findall(message.body)


def last_link(to: str | None = None) -> tuple[str, str]:
    for message in reversed(mail.outbox):
        if to is None or to in message.to:
            found = links_in(message)
            if found:
                return found[-1]
    raise AssertionError("no link e-mailed" + (f" to {to}" if to else ""))


def record_siret_verification(
    ticket, *, verdict: str = "passed", actor=None, registry: bool = True, checks=None
):
    """What a verdict leaves on the ticket (``tickets.verification``): the typed row, which
    the reassignment reads, and its timeline event. Bypasses the registry checks that
    ``ticket_siret_verify`` runs, so that tests of the reassignment choose the verdict.
    ``registry``: also make sure the registry knows the SIRET as active (as a "passed"
    verdict requires, and as every step of a reassignment re-checks)."""
    from establishments.models import RegistryEstablishment
    from tests.factories import UserFactory

    if registry:
        RegistryEstablishment.objects.get_or_create(
            siret=ticket.siret,
            defaults={
                "siren": ticket.siret[:9],
                "administrative_status": "A",
                "denomination": (ticket.denomination or "").upper(),
            },
        )
    actor = actor or UserFactory(supervisor=True)
    SiretVerification.objects.create(
        ticket=ticket,
        actor=actor,
        verdict=verdict,
        comment="Vérifié pour le test.",
        checks=checks or {},
        created_at=timezone.now(),
    )
    return ticket_event_record(
        ticket=ticket, kind=EventKind.SIRET_VERIFIED, actor=actor, data={"verdict": verdict}
    )


# django-dsfr's field template reads ``widget.group_class``, which only its select and
# radio widgets define: with the tests' string_if_invalid it shows up on every text input.
# That one is the library's; any other undefined variable is ours and a bug.
_DSFR_GROUP_CLASS = "!!MISSING field.field.widget.group_class!!"


def assert_no_missing_variable(response) -> None:
    html = response.content.decode().replace(_DSFR_GROUP_CLASS, "")
    assert "!!MISSING" not in html, html[html.index("!!MISSING") - 200 :][:400]


def approve(reassignment, actor, *, acknowledgements=None, file_version=None):
    """Approve as the approval page does: with the file's current version and, unless
    given, a written acknowledgement of every live risk signal."""
    from accounts.extranet.reassignment import reassignment_approve
    from accounts.extranet.risk import reassignment_signals_live
    from accounts.extranet.selectors import reassignment_file_version

    if acknowledgements is None:
        acknowledgements = {
            s.code: "Vérifié par téléphone avec le gérant."
            for s in reassignment_signals_live(reassignment_id=reassignment.pk)
        }
    if file_version is None:
        file_version = reassignment_file_version(reassignment_id=reassignment.pk)
    return reassignment_approve(
        reassignment=reassignment,
        actor=actor,
        file_version=file_version,
        acknowledgements=acknowledgements,
    )
