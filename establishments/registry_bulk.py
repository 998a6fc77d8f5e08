"""The registry import's set-based path, on PostgreSQL: COPY, then a few statements a batch.

The row-by-row path (``establishments.services``) spends its time in Python: a dict per row,
``clean_siret`` (python-stdnum's Luhn checks were 40 % of it), a model instance per row.
Here Python only reads the CSV and streams each row's useful cells to the server; the
checks, the comparison with the stored rows and the writes are set-based SQL. For each batch
of ``batch_size`` rows read, in one transaction:

1. Python reads the rows (the csv module, as the row-by-row path does) and COPYs their
   14 useful cells into a temporary table. It rejects only what SQL does not see: lines the
   csv module cannot read, rows of the wrong width, and SIRETs that are not 14 ASCII digits
   even once cleaned by ``clean_siret`` (called only for the rare cell that is not already
   14 ASCII digits). A date that is neither empty nor shaped AAAA-MM-JJ is parsed by Python
   exactly as the row-by-row path does, and handed on normalised or marked invalid.
2. One ``INSERT … SELECT`` finds each row's first failed check, in the row-by-row path's
   order (SIRET and SIREN check digits with La Poste's rule, SIREN/NIC against the SIRET,
   administrative status, date, dénomination, duplicate in the batch), and computes the
   cleaned values (trimmed as ``str.strip()`` trims, INSEE codes expanded, clipped to the
   columns' lengths) into a second temporary table.
3. The rejected rows (line, reason, SIRET) are read back and merged by line number with
   Python's rejections, so the report's counts, examples and order of reasons are those of
   the row-by-row path.
4. One ``INSERT … ON CONFLICT DO UPDATE`` writes the new and changed rows only; the same
   statement counts inserted, updated and unchanged rows and finds the registry's closures.
5. One ``UPDATE`` brings the known establishments' ``registry_status`` up to date and
   returns their closures; ``registry_closed`` is sent when the batch closed any.

``tests/establishments/test_import_sirene_bulk.py`` runs both paths on the sample (and on
rows built to hit every rule) and compares reports and rows.
"""

from __future__ import annotations

import heapq
import itertools
import operator
import time
from collections.abc import Callable
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from .models import AdministrativeStatus, Establishment, RegistryEstablishment
from .services import (
    _FIELD_LENGTHS,
    _REPETITION,
    _STREET_TYPES,
    REJECT_DATE,
    REJECT_DUPLICATE,
    REJECT_MALFORMED,
    REJECT_NO_DENOMINATION,
    REJECT_SIREN_MISMATCH,
    REJECT_SIRET,
    REJECT_STATUS,
    RegistryImportReport,
    _header,
    _parse_date,
    _rows,
)
from .signals import registry_closed
from .validators import LA_POSTE_SIREN, clean_siret

# What str.strip() removes (Unicode white space), for btrim(): SQL trims as Python does.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())

# The reasons SQL finds, by code, in the order the row-by-row path checks them.
_SQL_REASONS = {
    1: REJECT_SIRET,
    2: REJECT_SIREN_MISMATCH,
    3: REJECT_STATUS,
    4: REJECT_DATE,
    5: REJECT_NO_DENOMINATION,
    6: REJECT_DUPLICATE,
}

# The INSEE columns copied to the staging table, after the line number, the SIRET and the
# date (which Python may have cleaned).
_COPIED = (
    ("siren", "siren"),
    ("nic", "nic"),
    ("etatAdministratifEtablissement", "etat"),
    ("enseigne1Etablissement", "enseigne"),
    ("denominationUsuelleEtablissement", "denomination"),
    ("numeroVoieEtablissement", "numero"),
    ("indiceRepetitionEtablissement", "indice"),
    ("typeVoieEtablissement", "type_voie"),
    ("libelleVoieEtablissement", "libelle_voie"),
    ("complementAdresseEtablissement", "complement"),
    ("codePostalEtablissement", "code_postal"),
    ("libelleCommuneEtablissement", "commune"),
)
_STAGING = "establishments_sirene_staging"
_CHECKED = "establishments_sirene_checked"
_STAGING_COLUMNS = ["line", "siret", "day", *(column for _insee, column in _COPIED)]

_VALUES = [
    "siret",
    "siren",
    "administrative_status",
    "denomination",
    "started_on",
    "street_number",
    "street_extension",
    "street_name",
    "address_complement",
    "postal_code",
    "city",
]
_COMPARED = [name for name in _VALUES if name != "siret"]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _case(expression: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {_sql_literal(k)} THEN {_sql_literal(v)}" for k, v in mapping.items())
    return f"CASE {expression} {whens} ELSE {expression} END"


def _luhn(digits: list[str]) -> str:
    """The Luhn sum of ``digits`` (SQL integer expressions, most significant first): from
    the right, every second digit is doubled, and 9 taken off a double above 9."""
    terms = []
    for position, digit in enumerate(reversed(digits)):
        terms.append(f"({digit} * 2 - 9 * ({digit} / 5))" if position % 2 else digit)
    return " + ".join(terms)


def _trim(column: str) -> str:
    return f"btrim({column}, %(ws)s)"


def _clip(expression: str, field: str) -> str:
    return f"left({_trim(expression)}, {_FIELD_LENGTHS[field]})"


_DIGITS = [f"d{i}" for i in range(1, 15)]
_SIRET_VALID = (
    # python-stdnum's rules: La Poste's establishments (SIREN 356000000, except its head
    # office 35600000000048) have a digit sum divisible by 5 instead of a Luhn check digit;
    # every SIRET's SIREN has its own Luhn check digit; all zeros is not a number.
    f"CASE WHEN siret = '00000000000000' THEN false"
    f" WHEN left(siret, 9) = '{LA_POSTE_SIREN}' AND siret <> '{LA_POSTE_SIREN}00048'"
    f" THEN mod({' + '.join(_DIGITS)}, 5) = 0 AND mod({_luhn(_DIGITS[:9])}, 10) = 0"
    f" ELSE mod({_luhn(_DIGITS)}, 10) = 0 AND mod({_luhn(_DIGITS[:9])}, 10) = 0 END"
)
# A date handed on by Python is '' (none), AAAA-MM-JJ as written in the file (checked here
# for a real calendar day, as date.fromisoformat does), or '!' (refused by Python).
_DAY_VALID = (
    "CASE WHEN day !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN false ELSE"
    " substr(day, 1, 4)::int >= 1 AND substr(day, 6, 2)::int BETWEEN 1 AND 12"
    " AND substr(day, 9, 2)::int BETWEEN 1 AND CASE"
    "  WHEN substr(day, 6, 2) = '02' THEN CASE WHEN mod(substr(day, 1, 4)::int, 4) = 0"
    "   AND (mod(substr(day, 1, 4)::int, 100) <> 0 OR mod(substr(day, 1, 4)::int, 400) = 0)"
    "   THEN 29 ELSE 28 END"
    "  WHEN substr(day, 6, 2) IN ('04', '06', '09', '11') THEN 30 ELSE 31 END END"
)

_CHECK_SQL = f"""
INSERT INTO {_CHECKED} (line, reason, {", ".join(_VALUES)})
SELECT line,
       CASE WHEN reason IS NULL
             AND row_number() OVER (PARTITION BY siret, reason IS NULL ORDER BY line) > 1
            THEN 6 ELSE reason END,
       siret, left(siret, 9), status, denomination_clean,
       CASE WHEN reason IS NULL AND day <> '' THEN day::date END,
       {_clip("numero", "street_number")},
       {_clip(_case("repetition", _REPETITION), "street_extension")},
       left(btrim(concat_ws(' ', nullif({_case("street_type", _STREET_TYPES)}, ''),
                                 nullif({_trim("libelle_voie")}, '')), %(ws)s),
            {_FIELD_LENGTHS["street_name"]}),
       {_clip("complement", "address_complement")},
       {_clip("code_postal", "postal_code")},
       {_clip("commune", "city")}
FROM (
    SELECT t.*,
           CASE WHEN NOT ({_SIRET_VALID}) THEN 1
                WHEN (siren_in <> '' AND siren_in <> left(siret, 9))
                  OR (nic_in <> '' AND nic_in <> substr(siret, 10)) THEN 2
                WHEN status NOT IN ('A', 'F') THEN 3
                WHEN day <> '' AND NOT ({_DAY_VALID}) THEN 4
                WHEN %(require_denomination)s AND denomination_clean = '' THEN 5
           END AS reason
    FROM (
        SELECT s.*,
               {_trim("siren")} AS siren_in,
               {_trim("nic")} AS nic_in,
               upper({_trim("etat")}) AS status,
               left(coalesce(nullif({_trim("denomination")}, ''), {_trim("enseigne")}),
                    {_FIELD_LENGTHS["denomination"]}) AS denomination_clean,
               upper({_trim("type_voie")}) AS street_type,
               upper({_trim("indice")}) AS repetition,
               {", ".join(f"ascii(substr(siret, {i}, 1)) - 48 AS d{i}" for i in range(1, 15))}
        FROM {_STAGING} s
    ) t
) c
"""

_REGISTRY = RegistryEstablishment._meta.db_table
_ESTABLISHMENT = Establishment._meta.db_table

_CREATE_SQL = [
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (line bigint, siret text, day text, "
    + ", ".join(f"{column} text" for _insee, column in _COPIED)
    + ")",
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_CHECKED} (line bigint, reason smallint, "
    "siret text, siren text, administrative_status text, denomination text, started_on date, "
    "street_number text, street_extension text, street_name text, address_complement text, "
    "postal_code text, city text)",
]
_COPY_SQL = f"COPY {_STAGING} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN"
_REJECTED_SQL = f"SELECT line, reason, siret FROM {_CHECKED} WHERE reason IS NOT NULL ORDER BY line"

# Compared as the row-by-row path compares (every field but imported_at); only new and
# changed rows are written. The closures are the stored "A" rows the file says "F".
_UPSERT_SQL = f"""
WITH v AS (
    SELECT c.*,
           r.siret IS NULL AS is_new,
           r.siret IS NOT NULL
             AND ({", ".join(f"r.{name}" for name in _COMPARED)})
                 IS DISTINCT FROM ({", ".join(f"c.{name}" for name in _COMPARED)}) AS changed,
           r.administrative_status = 'A' AND c.administrative_status = 'F' AS closes
    FROM {_CHECKED} c LEFT JOIN {_REGISTRY} r ON r.siret = c.siret
    WHERE c.reason IS NULL
), written AS (
    INSERT INTO {_REGISTRY} ({", ".join(_VALUES)}, imported_at)
    SELECT {", ".join(_VALUES)}, %(now)s FROM v WHERE is_new OR changed
    ON CONFLICT (siret) DO UPDATE SET
        {", ".join(f"{name} = EXCLUDED.{name}" for name in [*_COMPARED, "imported_at"])}
)
SELECT count(*) FILTER (WHERE is_new),
       count(*) FILTER (WHERE changed),
       count(*) FILTER (WHERE NOT is_new AND NOT changed),
       coalesce(array_agg(siret) FILTER (WHERE closes), '{{}}')
FROM v
"""
# ``o`` is the same row as ``e`` read before the update: it gives the previous status.
_ESTABLISHMENTS_SQL = f"""
UPDATE {_ESTABLISHMENT} e
SET registry_status = c.administrative_status, updated_at = %(now)s
FROM {_CHECKED} c, {_ESTABLISHMENT} o
WHERE c.reason IS NULL AND e.siret = c.siret AND o.id = e.id
  AND e.registry_status <> c.administrative_status
RETURNING e.siret, o.registry_status, c.administrative_status
"""


def _day(value: str) -> str:
    """A date cell that is not plainly AAAA-MM-JJ, parsed as the row-by-row path parses
    it: '' when empty, AAAA-MM-JJ when valid, '!' (refused by SQL) otherwise."""
    try:
        parsed = _parse_date(value)
    except ValueError:
        return "!"
    return parsed.isoformat() if parsed is not None else ""


def registry_import_bulk(
    *,
    stream: TextIO,
    batch_size: int,
    require_denomination: bool,
    progress: Callable[[RegistryImportReport], None] | None,
    progress_every: int,
) -> RegistryImportReport:
    """``registry_import`` on PostgreSQL (see the module's docstring)."""
    report = RegistryImportReport()
    started = time.monotonic()
    # Python's rejections of the current batch, (line, reason, value) in line order: they
    # are merged with SQL's when the batch is written.
    rejected: list[tuple[int, str, str]] = []

    def reject(reason: str, line: int, value: str) -> None:
        rejected.append((line, reason, value))

    reader = _rows(stream, report, reject)
    width, index = _header(reader)
    cells_of = operator.itemgetter(*(index[insee] for insee, _column in _COPIED))
    at_siret, at_day = index["siret"], index["dateDebut"]
    with connection.cursor() as cursor:
        for statement in _CREATE_SQL:
            cursor.execute(statement)

    pending: tuple[int, list[str]] | None = None  # the first row of the next batch
    finished = False
    while not finished:
        chunk = report.read // batch_size
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {_STAGING}, {_CHECKED}")
            # itertools.chain, not a generator of ours: closing that would close the reader.
            source = reader if pending is None else itertools.chain((pending,), reader)
            pending = None
            with cursor.cursor.copy(_COPY_SQL) as copy:
                write = copy.write_row
                for line, cells in source:
                    # A row belongs to batch (its ordinal - 1) // batch_size, as in the
                    # row-by-row path (unreadable lines count as read).
                    if report.read // batch_size != chunk:
                        pending = (line, cells)
                        break
                    report.read += 1
                    if progress is not None and report.read % progress_every == 0:
                        report.seconds = time.monotonic() - started
                        progress(report)
                    if len(cells) != width:
                        reject(REJECT_MALFORMED, line, ",".join(cells)[:40])
                        continue
                    siret = cells[at_siret]
                    if not (len(siret) == 14 and siret.isascii() and siret.isdigit()):
                        raw = siret.strip()
                        try:
                            siret = clean_siret(raw)
                        except ValidationError:
                            reject(REJECT_SIRET, line, raw)
                            continue
                    day = cells[at_day]
                    if day and not (len(day) == 10 and day[4] == "-" and day[7] == "-"):
                        day = _day(day)
                    write((line, siret, day, *cells_of(cells)))
                else:
                    finished = True
            _write_batch(cursor, report, rejected, require_denomination)
            rejected.clear()
    report.seconds = time.monotonic() - started
    if progress is not None:
        progress(report)
    return report


def _write_batch(cursor, report: RegistryImportReport, rejected: list, require: bool) -> None:
    now = timezone.now()
    cursor.execute(_CHECK_SQL, {"ws": WHITESPACE, "require_denomination": require})
    cursor.execute(_REJECTED_SQL)
    from_sql = [(line, _SQL_REASONS[code], siret) for line, code, siret in cursor.fetchall()]
    for line, reason, value in heapq.merge(rejected, from_sql):
        report.reject(reason, line, value)
    cursor.execute(_UPSERT_SQL, {"now": now})
    inserted, updated, unchanged, closures = cursor.fetchone()
    report.inserted += inserted
    report.updated += updated
    report.unchanged += unchanged
    cursor.execute(_ESTABLISHMENTS_SQL, {"now": now})
    changed = cursor.fetchall()
    report.establishments_updated += len(changed)
    closed = set(closures)
    closed.update(
        siret
        for siret, before, after in changed
        if before == AdministrativeStatus.ACTIVE and after == AdministrativeStatus.CLOSED
    )
    if closed:
        registry_closed.send(sender=RegistryEstablishment, sirets=frozenset(closed))
