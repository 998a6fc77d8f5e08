"""The registry import's set-based path, on PostgreSQL: COPY, then a few statements a batch.

The row-by-row path (``establishments.services``) spends its time per row in Python: a
dict, ``clean_siret`` (python-stdnum's Luhn checks were 40 % of it), a model instance, and
an ORM upsert. Here the checks, the comparison with the stored rows and the writes are
set-based SQL, for each batch of ``batch_size`` rows read, in one transaction:

1. A reader thread parses the CSV (the csv module, as the row-by-row path does) one batch
   ahead, and prepares each row's cells as that path stores them (``str.strip()``, codes
   upper-cased, INSEE's street and repetition codes expanded, clipped: the same
   ``services._address``), as COPY text. It rejects only what SQL does not see: lines the
   csv module cannot read, rows of the wrong width, and SIRETs that are not 14 ASCII digits
   even once cleaned by ``clean_siret`` (called only for the rare cell that is not already
   14 ASCII digits). A date that is neither empty nor shaped AAAA-MM-JJ is parsed in
   Python as the row-by-row path parses it, and handed on normalised or marked invalid.
   The batch is COPYed into a temporary table.
2. One ``INSERT … SELECT`` finds each row's first failed check, in the row-by-row path's
   order: SIRET and SIREN check digits (python-stdnum's rules, La Poste's included),
   SIREN/NIC against the SIRET, administrative status, a real calendar date, dénomination,
   duplicate in the batch; into a second temporary table.
3. The rejected rows (line, reason, SIRET) are read back and merged by line number with
   Python's rejections, so the report's counts, examples and order of reasons are those of
   the row-by-row path.
4. One statement compares the valid rows with the stored ones (one index probe each),
   inserts the new, updates the changed, and counts inserted, updated and unchanged rows and
   the registry's closures.
5. One ``UPDATE`` brings the known establishments' ``registry_status`` up to date and
   returns their closures; ``registry_closed`` is sent when the batch closed any.

``tests/establishments/test_import_sirene_bulk.py`` runs both paths on the sample, on rows
built to hit every rule and on random SIRETs, and compares reports, rows and closures.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import RegistryImportError
from .models import AdministrativeStatus, Establishment, RegistryEstablishment
from .services import (
    _FIELD_LENGTHS,
    REJECT_DATE,
    REJECT_DUPLICATE,
    REJECT_MALFORMED,
    REJECT_NO_DENOMINATION,
    REJECT_SIREN_MISMATCH,
    REJECT_SIRET,
    REJECT_STATUS,
    RegistryImportReport,
    _address,
    _header,
    _parse_date,
    _rows,
)
from .signals import registry_closed
from .validators import LA_POSTE_SIREN, clean_siret

# The reasons SQL finds, by code, in the order the row-by-row path checks them.
_SQL_REASONS = {
    1: REJECT_SIRET,
    2: REJECT_SIREN_MISMATCH,
    3: REJECT_STATUS,
    4: REJECT_DATE,
    5: REJECT_NO_DENOMINATION,
    6: REJECT_DUPLICATE,
}

# The staging table: each row's line number, its SIRET (14 ASCII digits), its date as
# Python hands it on, and its cells trimmed (and, for codes, upper-cased) by Python exactly
# as the row-by-row path does, address and dénomination already in their stored form.
_STAGING = "establishments_sirene_staging"
_CHECKED = "establishments_sirene_checked"
_STAGING_COLUMNS = [
    "line",
    "siret",
    "day",
    "siren_in",
    "nic_in",
    "status",
    "denomination",
    "street_number",
    "street_extension",
    "street_name",
    "address_complement",
    "postal_code",
    "city",
]

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


def _luhn_quads() -> str:
    """A constant array indexed 0..9999: for the four digits abcd of the index, the Luhn
    terms of a doubled a, a plain b, a doubled c and a plain d (a doubled digit counts its
    double, less 9 above 9). A SIRET's Luhn sum is then four lookups instead of fourteen
    digit extractions and their arithmetic."""

    def doubled(digit: int) -> int:
        return digit * 2 - 9 * (digit >= 5)

    sums = (
        doubled(n // 1000) + n // 100 % 10 + doubled(n // 10 % 10) + n % 10 for n in range(10_000)
    )
    return "'[0:9999]={" + ",".join(map(str, sums)) + "}'::int[]"


def _quad(start: int, length: int = 4) -> str:
    return f"luhn4[substr(siret, {start}, {length})::int]"


_SIRET_VALID = (
    # python-stdnum's rules. From the right, a SIRET's every second digit is doubled: the
    # doubled ones are the 1st, 3rd … 13th from the left (quads 1-4, 5-8, 9-12, and 13-14
    # read as 00xy); its SIREN's are the 2nd, 4th, 6th and 8th (digit 1, quads 2-5, 6-9).
    # La Poste's establishments (SIREN 356000000, except its head office 35600000000048)
    # have a digit sum divisible by 5 instead of a Luhn check digit. All zeros is no number.
    f"CASE WHEN siret = '00000000000000' THEN false"
    f" WHEN mod(substr(siret, 1, 1)::int + {_quad(2)} + {_quad(6)}, 10) <> 0 THEN false"
    f" WHEN left(siret, 9) = '{LA_POSTE_SIREN}' AND siret <> '{LA_POSTE_SIREN}00048'"
    f" THEN mod({' + '.join(f'substr(siret, {i}, 1)::int' for i in range(1, 15))}, 5) = 0"
    f" ELSE mod({_quad(1)} + {_quad(5)} + {_quad(9)} + {_quad(13, 2)}, 10) = 0 END"
)
# A date handed on by Python is '' (none), AAAA-MM-JJ as written in the file (checked here
# for a real calendar day, as date.fromisoformat does), or '!' (refused by Python).
_DAY_VALID = (
    "CASE WHEN length(day) <> 10 OR translate(day, '0123456789', '') <> '--'"
    " OR substr(day, 5, 1) <> '-' OR substr(day, 8, 1) <> '-' THEN false ELSE"
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
       siret, left(siret, 9), status, denomination,
       CASE WHEN reason IS NULL AND day <> '' THEN day::date END,
       street_number, street_extension, street_name, address_complement, postal_code, city
FROM (
    SELECT s.*,
           CASE WHEN NOT ({_SIRET_VALID}) THEN 1
                WHEN (siren_in <> '' AND siren_in <> left(siret, 9))
                  OR (nic_in <> '' AND nic_in <> substr(siret, 10)) THEN 2
                WHEN status NOT IN ('A', 'F') THEN 3
                WHEN day <> '' AND NOT ({_DAY_VALID}) THEN 4
                WHEN %(require_denomination)s AND denomination = '' THEN 5
           END AS reason
    FROM {_STAGING} s, (SELECT {_luhn_quads()} AS luhn4) k
    OFFSET 0
) c
"""

# The advisory lock one import holds while it runs ("SIRENE" in ASCII).
_LOCK = 0x534952454E45
_REGISTRY = RegistryEstablishment._meta.db_table
_ESTABLISHMENT = Establishment._meta.db_table

_CREATE_SQL = [
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (line bigint, "
    + ", ".join(f"{column} text" for column in _STAGING_COLUMNS[1:])
    + ")",
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_CHECKED} (line bigint, reason smallint, "
    "siret text, siren text, administrative_status text, denomination text, started_on date, "
    "street_number text, street_extension text, street_name text, address_complement text, "
    "postal_code text, city text)",
]
_COPY_SQL = f"COPY {_STAGING} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN"
_REJECTED_SQL = f"SELECT line, reason, siret FROM {_CHECKED} WHERE reason IS NOT NULL ORDER BY line"

# Compared as the row-by-row path compares (every field but imported_at); only new and
# changed rows are written. The closures are the stored "A" rows the file says "F". New
# rows take a plain INSERT (cheaper than ON CONFLICT): the import holds an advisory lock,
# so no other import can insert the same SIRET meanwhile.
_UPSERT_SQL = f"""
WITH v AS MATERIALIZED (
    SELECT c.*,
           r.siret IS NULL AS is_new,
           r.siret IS NOT NULL
             AND ({", ".join(f"r.{name}" for name in _COMPARED)})
                 IS DISTINCT FROM ({", ".join(f"c.{name}" for name in _COMPARED)}) AS changed,
           r.administrative_status = 'A' AND c.administrative_status = 'F' AS closes
    FROM {_CHECKED} c LEFT JOIN {_REGISTRY} r ON r.siret = c.siret
    WHERE c.reason IS NULL
), inserted AS (
    INSERT INTO {_REGISTRY} ({", ".join(_VALUES)}, imported_at)
    SELECT {", ".join(_VALUES)}, %(now)s FROM v WHERE is_new
), updated AS (
    UPDATE {_REGISTRY} r
    SET {", ".join(f"{name} = v.{name}" for name in _COMPARED)}, imported_at = %(now)s
    FROM v WHERE v.changed AND r.siret = v.siret
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


def _copy_line(values: tuple[str, ...]) -> str:
    """One line of COPY's text format. Cells rarely hold a tab, a line break or a backslash:
    the joined line is checked once, and only such a row is escaped cell by cell."""
    line = "\t".join(values)
    if (
        line.count("\t") == len(values) - 1
        and "\\" not in line
        and "\n" not in line
        and "\r" not in line
    ):
        return line
    return "\t".join(
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        for value in values
    )


@dataclass
class _Batch:
    """One batch as Python reads it, ready for COPY."""

    data: bytes  # the rows Python did not reject, in COPY's text format
    rejected: list[tuple[int, str, str]]  # Python's rejections (line, reason, value)
    read: int  # rows read so far, this batch included
    progress_at: list[int]  # the counts of rows read at which progress was due


def _batches(
    *,
    reader: Iterator[tuple[int, list[str]]],
    counter: RegistryImportReport,
    rejected: list[list[tuple[int, str, str]]],
    width: int,
    index: dict[str, int],
    batch_size: int,
    progress_every: int,
) -> Iterator[_Batch]:
    """Cut the rows into batches of ``batch_size`` rows read: a row belongs to batch
    (its ordinal - 1) // batch_size, as in the row-by-row path (the reader counts the
    unreadable lines in ``counter.read`` and puts them in ``rejected[0]``)."""
    at_siret, at_day = index["siret"], index["dateDebut"]
    at_siren, at_nic = index["siren"], index["nic"]
    at_status = index["etatAdministratifEtablissement"]
    at_name, at_sign = index["denominationUsuelleEtablissement"], index["enseigne1Etablissement"]
    name_length = _FIELD_LENGTHS["denomination"]
    pending: tuple[int, list[str]] | None = None  # the first row of the next batch
    finished = False
    while not finished:
        chunk = counter.read // batch_size
        lines: list[str] = []
        progress_at: list[int] = []
        reject = rejected[0].append
        # itertools.chain, not a generator of ours: closing that would close the reader.
        source = reader if pending is None else itertools.chain((pending,), reader)
        pending = None
        for line, cells in source:
            if counter.read // batch_size != chunk:
                pending = (line, cells)
                break
            counter.read += 1
            if counter.read % progress_every == 0:
                progress_at.append(counter.read)
            if len(cells) != width:
                reject((line, REJECT_MALFORMED, ",".join(cells)[:40]))
                continue
            siret = cells[at_siret]
            if not (len(siret) == 14 and siret.isascii() and siret.isdigit()):
                raw = siret.strip()
                try:
                    siret = clean_siret(raw)
                except ValidationError:
                    reject((line, REJECT_SIRET, raw))
                    continue
            day = cells[at_day]
            if day and not (len(day) == 10 and day[4] == "-" and day[7] == "-"):
                day = _day(day)
            lines.append(
                _copy_line(
                    (
                        str(line),
                        siret,
                        day,
                        cells[at_siren].strip(),
                        cells[at_nic].strip(),
                        cells[at_status].strip().upper(),
                        (cells[at_name].strip() or cells[at_sign].strip())[:name_length],
                        *_address(cells, index),
                    )
                )
            )
        else:
            finished = True
        batch_rejected, rejected[0] = rejected[0], []
        data = ("\n".join(lines) + "\n").encode() if lines else b""
        yield _Batch(data, batch_rejected, counter.read, progress_at)


def _in_background(items: Iterator[_Batch]) -> Generator[_Batch, None, None]:
    """Run ``items`` in a thread, at most one item ahead: Python reads batch k + 1 while
    PostgreSQL checks and writes batch k (psycopg releases the GIL while it waits). An
    exception in the thread is raised here; closing this generator stops the thread."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    thread = threading.Thread(target=produce, name="import_sirene-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


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
    # The reader thread counts rows and Python's rejections on its own; the report is
    # written by this thread only, batch by batch.
    counter = RegistryImportReport()
    rejected: list[list[tuple[int, str, str]]] = [[]]
    reader = _rows(
        stream, counter, lambda reason, line, value: rejected[0].append((line, reason, value))
    )
    width, index = _header(reader)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK])
        if not cursor.fetchone()[0]:
            raise RegistryImportError(
                _(
                    "Un autre import du registre est en cours (import_sirene) : "
                    "relancez celui-ci quand il sera terminé."
                )
            )
        try:
            for statement in _CREATE_SQL:
                cursor.execute(statement)
            batches = _in_background(
                _batches(
                    reader=reader,
                    counter=counter,
                    rejected=rejected,
                    width=width,
                    index=index,
                    batch_size=batch_size,
                    progress_every=progress_every,
                )
            )
            with contextlib.closing(batches):
                for batch in batches:
                    for read in batch.progress_at:
                        if progress is not None:
                            report.read = read
                            report.seconds = time.monotonic() - started
                            progress(report)
                    report.read = batch.read
                    _write_batch(batch, report, require_denomination)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    report.seconds = time.monotonic() - started
    if progress is not None:
        progress(report)
    return report


def _write_batch(batch: _Batch, report: RegistryImportReport, require: bool) -> None:
    """COPY, check, compare and write one batch, in one transaction (steps 1 to 5)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The statements are simple but their cost estimates are high: without this,
        # PostgreSQL compiles them with JIT on every batch (over a second each time).
        cursor.execute("SET LOCAL jit = off")
        # The duplicate check sorts the batch: in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # A batch lost to a crash is imported again by the next run (the import is
        # idempotent): no need to wait for its commit to reach the disk.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(f"TRUNCATE {_STAGING}, {_CHECKED}")
        if batch.data:
            with cursor.cursor.copy(_COPY_SQL) as copy:
                copy.write(batch.data)
        _check_and_write(cursor, batch, report, require)


def _check_and_write(
    cursor: CursorWrapper, batch: _Batch, report: RegistryImportReport, require: bool
) -> None:
    now = timezone.now()
    cursor.execute(_CHECK_SQL, {"require_denomination": require})
    cursor.execute(_REJECTED_SQL)
    from_sql = [(line, _SQL_REASONS[code], siret) for line, code, siret in cursor.fetchall()]
    for line, reason, value in heapq.merge(batch.rejected, from_sql):
        report.reject(reason, line, value)
    # One index probe per row into the registry (40 million rows in production), never a
    # scan of it to build a hash: whatever the statistics of a table just loaded say.
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute("SET LOCAL enable_mergejoin = off")
    cursor.execute(_UPSERT_SQL, {"now": now})
    inserted, updated, unchanged, closures = cursor.fetchone()
    cursor.execute("SET LOCAL enable_hashjoin = on")
    cursor.execute("SET LOCAL enable_mergejoin = on")
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
