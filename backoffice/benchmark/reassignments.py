"""Seed 50,000 account reassignments on the bench tickets (case 2.1), for the pending list
and the approval page with their risk signals computed.

Each reassignment hangs off a bench "Habilitation à l'extranet" ticket, on an
establishment and extranet account created for the ticket's SIRET (identifiants
``BN…``, e-mails at ``@bench.example`` or at the establishment's own bench domain). The
mix is what a helpdesk sees over two years: most changes ended (applied, rejected,
cancelled), a few hundred awaiting approval, and a small fraud ring reusing a handful of
e-mail addresses and phone numbers across unrelated companies, with free webmail addresses
for a good share of the new holders.

A second run with the same count reuses them; ``bench_reassignments_delete`` removes them
(the ticket reseed calls it first, since reassignments protect their tickets).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from accounts.extranet.models import (
    AccountReassignment,
    ExtranetAccount,
    ExtranetHolderHistory,
    ReassignmentApproval,
    ReassignmentState,
)
from accounts.staff.models import User
from establishments.models import Establishment
from tickets.models import Motif, Ticket

from .seed import REFERENCE_PREFIX

IDENTIFIANT_PREFIX = "BN"
REASSIGNMENTS = 50_000
# Awaiting approval: the pending list pages through them.
PREPARED = 600
STATE_WEIGHTS = {
    ReassignmentState.APPLIED: 70,
    ReassignmentState.REJECTED: 12,
    ReassignmentState.CANCELLED: 10,
    ReassignmentState.OBJECTED: 3,
    ReassignmentState.APPROVED: 1,
}
WEBMAIL = ["gmail.com", "orange.fr", "hotmail.fr", "yahoo.fr", "free.fr", "outlook.fr"]
_FIRST = "claire marc julie paul nadia sophie louis emma hugo lea karim ines".split()
_LAST = "dupont martin bernard lefevre hoarau petit durand leroy moreau roux".split()


def default_count(tickets: int) -> int:
    """50,000 reassignments at 1,000,000 tickets, in proportion below."""
    return max(8, min(REASSIGNMENTS, tickets // 20))


def bench_reassignment_count() -> int:
    return AccountReassignment.objects.filter(
        account__identifiant__startswith=IDENTIFIANT_PREFIX
    ).count()


def bench_reassignments_delete() -> None:
    """Delete the bench reassignments, their accounts and establishments, in SQL."""
    qn = connection.ops.quote_name
    accounts = f"SELECT id FROM {qn(ExtranetAccount._meta.db_table)} WHERE identifiant LIKE %s"
    reassignments = (
        f"SELECT id FROM {qn(AccountReassignment._meta.db_table)} WHERE account_id IN ({accounts})"
    )
    like = [IDENTIFIANT_PREFIX + "%"]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (ReassignmentApproval, ExtranetHolderHistory):
            cursor.execute(
                f"DELETE FROM {qn(model._meta.db_table)} WHERE reassignment_id IN "
                f"({reassignments})",
                like,
            )
        cursor.execute(
            f"DELETE FROM {qn(AccountReassignment._meta.db_table)} WHERE account_id IN "
            f"({accounts})",
            like,
        )
        cursor.execute(
            f"SELECT establishment_id FROM {qn(ExtranetAccount._meta.db_table)} "
            "WHERE identifiant LIKE %s",
            like,
        )
        establishment_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"DELETE FROM {qn(ExtranetAccount._meta.db_table)} WHERE identifiant LIKE %s", like
        )
        if establishment_ids:
            Establishment.objects.filter(pk__in=establishment_ids).delete()


def seed_reassignments(
    *, count: int = REASSIGNMENTS, rng_seed: int = 2026, log=print
) -> tuple[int, bool]:
    """Make sure ``count`` bench reassignments exist. Returns (count, reused)."""
    existing = bench_reassignment_count()
    if existing == count:
        return count, True
    if existing:
        log(f"Suppression des {existing} réattributions de bench précédentes…")
        bench_reassignments_delete()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    tickets = list(
        Ticket.objects.filter(
            reference__startswith=REFERENCE_PREFIX, motif=Motif.HABILITATION_EXTRANET
        )
        .order_by("id")
        .values_list("id", "siret", "created_at", "assignee_id")
    )
    if len(tickets) < count:
        raise RuntimeError(
            f"{len(tickets)} tickets « Habilitation » de bench : il en faut {count}."
        )
    # Spread over the whole history, newest ones (the pending) at the end.
    step = len(tickets) / count
    chosen = [tickets[int(i * step)] for i in range(count)]
    preparers = list(
        User.objects.filter(email__endswith="@bench.example", role="agent").values_list(
            "id", flat=True
        )
    )
    supervisors = list(
        User.objects.filter(email__endswith="@bench.example", role="supervisor").values_list(
            "id", flat=True
        )
    )
    with transaction.atomic():
        establishments = _establishments(chosen, rng, now)
        accounts = _accounts(establishments)
        _rows(chosen, accounts, establishments, preparers, supervisors, rng, now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for model in (AccountReassignment, ExtranetAccount, Establishment):
                cursor.execute(
                    f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}"
                )
    pending = AccountReassignment.objects.filter(
        account__identifiant__startswith=IDENTIFIANT_PREFIX, state=ReassignmentState.PREPARED
    ).count()
    log(f"  {count} réattributions de bench ({pending} en attente d'approbation).")
    return count, False


def _establishments(chosen, rng: random.Random, now: datetime) -> dict[str, Establishment]:
    sirets = sorted({siret for _id, siret, _at, _a in chosen})
    existing = {e.siret: e for e in Establishment.objects.filter(siret__in=sirets)}
    new = []
    for siret in sirets:
        if siret in existing:
            continue
        changed = now - timedelta(days=rng.uniform(0, 700)) if rng.random() < 0.05 else None
        new.append(
            Establishment(
                siret=siret,
                siren=siret[:9],
                nic=siret[9:],
                denomination=f"Bench {siret[:9]}",
                email=f"contact@e{siret[:9]}.bench.example",
                registry_status="A",
                email_changed_at=changed,
            )  # fmt: skip
        )
    Establishment.objects.bulk_create(new, batch_size=5000)
    return {e.siret: e for e in Establishment.objects.filter(siret__in=sirets)}


def _accounts(establishments: dict[str, Establishment]) -> dict[str, ExtranetAccount]:
    rows = [
        ExtranetAccount(
            identifiant=f"{IDENTIFIANT_PREFIX}{e.pk:010d}",
            establishment=e,
            holder_last_name="Gestionnaire",
            holder_first_name="Ancien",
            holder_email=f"ancien@e{e.siren}.bench.example",
        )  # fmt: skip
        for e in establishments.values()
    ]
    ExtranetAccount.objects.bulk_create(rows, batch_size=5000)
    return {
        a.establishment.siret: a
        for a in ExtranetAccount.objects.filter(
            identifiant__startswith=IDENTIFIANT_PREFIX
        ).select_related("establishment")
    }


def _rows(chosen, accounts, establishments, preparers, supervisors, rng, now) -> None:
    ring_emails = [f"gestion.paie{i}@{rng.choice(WEBMAIL)}" for i in range(40)]
    ring_phones = [f"+3361234{i:04d}" for i in range(40)]
    states = rng.choices(list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()), k=len(chosen))
    open_accounts: set[int] = set()
    rows = []
    # The newest tickets with a free account get the pending changes.
    prepared_left = min(PREPARED, max(2, len(chosen) // 4))
    pending_from = max(0, len(chosen) - 3 * prepared_left)
    for i, (ticket_id, siret, created_at, _assignee) in enumerate(chosen):
        account = accounts[siret]
        state = states[i]
        if i >= pending_from and prepared_left and account.pk not in open_accounts:
            state = ReassignmentState.PREPARED
            prepared_left -= 1
        if state in (ReassignmentState.PREPARED, ReassignmentState.APPROVED):
            if account.pk in open_accounts:
                state = ReassignmentState.APPLIED
            else:
                open_accounts.add(account.pk)
        prepared_at = created_at + timedelta(hours=rng.uniform(1, 48))
        if state == ReassignmentState.PREPARED:
            prepared_at = min(prepared_at, now - timedelta(minutes=5))
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        draw = rng.random()
        if draw < 0.01:
            email, phone = rng.choice(ring_emails), rng.choice(ring_phones)
        elif draw < 0.6:
            email = f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(WEBMAIL)}"
            phone = f"+336{rng.randint(10_000_000, 99_999_999)}"
        else:
            email = f"{first}.{last}@e{siret[:9]}.bench.example"
            phone = f"+331{rng.randint(10_000_000, 99_999_999)}"
        decided = prepared_at + timedelta(hours=rng.uniform(1, 24))
        ended = state not in (ReassignmentState.PREPARED,)
        rows.append(
            AccountReassignment(
                ticket_id=ticket_id,
                account=account,
                state=state,
                new_holder_last_name=last.title(),
                new_holder_first_name=first.title(),
                new_holder_email=email,
                new_holder_phone=phone,
                evidence_notes="Kbis vérifié ; appel au standard de l'établissement.",
                previous_holder_email=account.holder_email,
                previous_holder_name="Ancien Gestionnaire",
                prepared_by_id=rng.choice(preparers),
                prepared_at=prepared_at,
                approved_by_id=rng.choice(supervisors)
                if state
                in (
                    ReassignmentState.APPROVED,
                    ReassignmentState.APPLIED,
                    ReassignmentState.OBJECTED,
                )
                else None,
                decided_at=decided if ended else None,
                apply_after=decided + timedelta(hours=24)
                if state != ReassignmentState.REJECTED and ended
                else None,
                applied_at=decided + timedelta(hours=24)
                if state == ReassignmentState.APPLIED
                else None,
                siret=siret,
                siren=siret[:9],
                requester_email=email,
                requester_email_domain=email.rpartition("@")[2],
                requester_phone=phone,
                registry_started_at=prepared_at - timedelta(days=rng.uniform(10, 4000)),
                name_match=rng.choice(["exact"] * 8 + ["close", "unknown"]),
                name_similarity=1.0,
            )  # fmt: skip
        )
    AccountReassignment.objects.bulk_create(rows, batch_size=5000)
