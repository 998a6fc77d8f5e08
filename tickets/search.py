"""Search: what an agent types in the back-office's search box, and what it finds.

The text decides the kind of search, so the agent never picks a field first:

- a ticket reference (``AP-2026-000123``) finds that ticket (the page jumps to it);
- 14 digits (spaces and dots allowed) a SIRET, 9 digits a SIREN (every establishment of
  the company);
- an e-mail address the requester's address; a phone number (French or overseas, as
  typed) the requester's number, compared in E.164 as intake stores it;
- anything else is text: the dénomination, the requester's name and the description, with
  PostgreSQL's French full-text search (stemmed, accents ignored through ``unaccent``),
  matched against the ``search_document`` column PostgreSQL stores with each ticket, GIN
  indexed (``tickets/migrations/0018_perf.py``); elsewhere (SQLite, ``make run``) every
  word must appear in one of those fields.

Results are the tickets the agent may see (``tickets.access``), newest first, by keyset
pages of ``PAGE_SIZE`` (a cursor, never an offset), each with why it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from .access import tickets_for
from .forms import clean_french_phone
from .models import Ticket
from .selectors import _decode_cursor, _encode_cursor

if TYPE_CHECKING:
    from accounts.staff.models import User

PAGE_SIZE = 25
MAX_QUERY_LENGTH = 200

REFERENCE = re.compile(r"[A-Za-z]{2}-\d{4}-\d{6,7}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"\+?[\d\s.\-()]{8,20}")
_SEPARATORS = re.compile(r"[\s.\u00a0\u202f]+")
_WORDS = re.compile(r"\w+", re.UNICODE)

# The document searched: a stored, generated column (``search_document``, GIN indexed) of
# this expression, which PostgreSQL computes at each insert and update. Matching the stored
# value, a search for a common word walks the newest tickets at the cost of a tsvector
# match per row instead of parsing each description again (``tickets/migrations/
# 0018_perf.py``). ``apsupport_unaccent`` is ``unaccent`` declared IMMUTABLE.
DOCUMENT_SQL = '"tickets_ticket"."search_document"'
INDEX_DOCUMENT_SQL = (
    "to_tsvector('french'::regconfig, apsupport_unaccent("
    "denomination || ' ' || requester_name || ' ' || description))"
)


@dataclass(frozen=True)
class SearchQuery:
    kind: str  # reference, siret, siren, email, phone, text, empty
    value: str
    typed: str

    @property
    def why(self) -> str:
        """Why a result matched, in the agent's words."""
        return {
            "reference": "référence",
            "siret": "SIRET",
            "siren": "SIREN (même entreprise)",
            "email": "adresse électronique du demandeur",
            "phone": "téléphone du demandeur",
            "text": "texte : dénomination, demandeur ou description",
        }.get(self.kind, "")


def search_parse(typed: str) -> SearchQuery:
    """What kind of search ``typed`` is (see the module's docstring)."""
    text = (typed or "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return SearchQuery("empty", "", typed or "")
    if REFERENCE.fullmatch(text):
        return SearchQuery("reference", text.upper(), text)
    digits_only = _SEPARATORS.sub("", text)
    if digits_only.isdigit() and len(digits_only) == 14:
        return SearchQuery("siret", digits_only, text)
    if digits_only.isdigit() and len(digits_only) == 9:
        return SearchQuery("siren", digits_only, text)
    if EMAIL.fullmatch(text):
        return SearchQuery("email", text.lower(), text)
    if PHONE.fullmatch(text) and sum(c.isdigit() for c in text) >= 9:
        try:
            return SearchQuery("phone", clean_french_phone(text), text)
        except ValidationError:
            pass
    return SearchQuery("text", text, text)


def search_filter(queryset: QuerySet[Ticket], query: SearchQuery) -> QuerySet[Ticket]:
    """``queryset`` narrowed to what ``query`` finds (also the queue pages' free text)."""
    if query.kind == "empty":
        return queryset.none()
    if query.kind == "reference":
        return queryset.filter(reference=query.value)
    if query.kind == "siret":
        return queryset.filter(siret=query.value)
    if query.kind == "siren":
        # A range on the SIRET index (every SIRET of the SIREN starts with it).
        return queryset.filter(siret__gte=query.value, siret__lt=query.value + ":")
    if query.kind == "email":
        return queryset.filter(email=query.value)
    if query.kind == "phone":
        return queryset.filter(phone=query.value)
    return _text_filter(queryset, query.value)


# A text against the stored document (PostgreSQL).
MATCH_SQL = f"{DOCUMENT_SQL} @@ websearch_to_tsquery('french'::regconfig, apsupport_unaccent(%s))"


def _text_filter(queryset: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    if connection.vendor == "postgresql":
        found = queryset.filter(RawSQL(MATCH_SQL, [text], output_field=BooleanField()))
        few = _few_text_matches(text)
        # A rare word: its tickets by primary key, sorted once read (see below).
        return found if few is None else found.filter(pk__in=few)
    words = _WORDS.findall(text) or [text]
    for word in words[:8]:
        queryset = queryset.filter(
            Q(denomination__icontains=word)
            | Q(requester_name__icontains=word)
            | Q(description__icontains=word)
        )
    return queryset


# Up to this many tickets match a text: read them through the GIN index first.
FEW_MATCHES = 2000


def _few_text_matches(text: str) -> list[int] | None:
    """The ids of every ticket whose document matches ``text``, when there are at most
    ``FEW_MATCHES`` of them (None: more).

    Newest first, the planner walks the tickets by date and tests each document, which is
    right for a common word and ruinous for a rare one: with a vocabulary where every
    lexeme of the statistics is frequent, a word outside them is estimated at thousands of
    rows, and the walk went through 750,000 tickets for 27 matches (630 ms at 1,000,000
    tickets). This bounded probe asks the GIN index first (under a millisecond for a rare
    word; for a common word it stops at ``FEW_MATCHES`` + 1) and the page is then read by
    primary key. The access rule, the other filters and the cursor still apply to the
    page's query (the search page and the queue pages' free-text filter alike)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Ticket._meta.db_table} WHERE {MATCH_SQL} LIMIT %s",
            [text, FEW_MATCHES + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= FEW_MATCHES else None


@dataclass(frozen=True)
class SearchPage:
    query: SearchQuery
    tickets: list[Ticket]
    next_cursor: str | None
    # A reference that the agent may see: the page jumps to it.
    jump_to: Ticket | None = None


CURSOR_FIELDS = ("created_at", "id")


def search_tickets(*, user: User, typed: str, cursor: str | None = None) -> SearchPage:
    """One page of results for ``typed``, among the tickets ``user`` may see."""
    query = search_parse(typed)
    if query.kind == "empty":
        return SearchPage(query=query, tickets=[], next_cursor=None)
    found = search_filter(tickets_for(user), query).select_related("queue", "assignee")
    if query.kind == "reference":
        ticket = found.first()
        return SearchPage(query=query, tickets=[ticket] if ticket else [], next_cursor=None,
                          jump_to=ticket)  # fmt: skip
    after = _decode_cursor(cursor, CURSOR_FIELDS)
    if after is not None:
        created, pk = after
        found = found.filter(Q(created_at__lte=created), Q(created_at__lt=created) | Q(id__lt=pk))
    rows = list(found.order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_cursor = _encode_cursor([last.created_at, last.pk])
    return SearchPage(query=query, tickets=rows, next_cursor=next_cursor)
