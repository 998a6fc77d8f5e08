"""Writes on establishments and on the reference registry.

The registry import reads INSEE's SIRENE "StockEtablissement" CSV (about 40 million rows,
several gigabytes once unzipped): it streams the file, upserts in batches, each batch in
its own short transaction, and never holds more than a batch or two in memory. On
PostgreSQL the batches are checked and written set-based (``registry_bulk``); elsewhere row
by row here. Both share this module's reader, header check, cleaning and report.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import RegistryImportError
from .models import AdministrativeStatus, Establishment, RegistryEstablishment
from .signals import registry_closed
from .validators import clean_siret

# The INSEE columns the import reads. The real file has about fifty more (activity codes,
# head-count brackets, Lambert coordinates, second address…): they are ignored.
COLUMNS = (
    "siren",
    "nic",
    "siret",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "complementAdresseEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
)

# INSEE's codes for "indice de répétition" and the commonest "type de voie" codes; an
# unknown code is kept as it is.
_REPETITION = {"B": "bis", "T": "ter", "Q": "quater", "C": "quinquies"}
_STREET_TYPES = {
    "ALL": "ALLEE",
    "AV": "AVENUE",
    "BD": "BOULEVARD",
    "CAR": "CARREFOUR",
    "CHE": "CHEMIN",
    "CHS": "CHAUSSEE",
    "CITE": "CITE",
    "COR": "CORNICHE",
    "CRS": "COURS",
    "DOM": "DOMAINE",
    "DSC": "DESCENTE",
    "ECA": "ECART",
    "ESP": "ESPLANADE",
    "FG": "FAUBOURG",
    "GR": "GRANDE RUE",
    "HAM": "HAMEAU",
    "HLE": "HALLE",
    "IMP": "IMPASSE",
    "LD": "LIEU DIT",
    "LOT": "LOTISSEMENT",
    "MAR": "MARCHE",
    "MTE": "MONTEE",
    "PAS": "PASSAGE",
    "PL": "PLACE",
    "PLN": "PLAINE",
    "PLT": "PLATEAU",
    "PRO": "PROMENADE",
    "PRV": "PARVIS",
    "QUA": "QUARTIER",
    "QUAI": "QUAI",
    "RES": "RESIDENCE",
    "RLE": "RUELLE",
    "ROC": "ROCADE",
    "RPT": "ROND POINT",
    "RTE": "ROUTE",
    "RUE": "RUE",
    "SEN": "SENTIER",
    "SQ": "SQUARE",
    "TPL": "TERRE PLEIN",
    "TRA": "TRAVERSE",
    "VLA": "VILLA",
    "VLGE": "VILLAGE",
}

# Rejection reasons, as shown in the report (French: the command's user reads them).
REJECT_MALFORMED = "ligne mal formée (nombre de colonnes incorrect)"
REJECT_UNREADABLE = "ligne illisible (guillemets ou caractères invalides)"
REJECT_SIRET = "SIRET invalide"
REJECT_SIREN_MISMATCH = "SIREN ou NIC incohérent avec le SIRET"
REJECT_STATUS = "état administratif invalide (A ou F attendu)"
REJECT_DATE = "date de début invalide (AAAA-MM-JJ attendu)"
REJECT_DUPLICATE = "SIRET en double dans le fichier"
REJECT_NO_DENOMINATION = "ni dénomination usuelle ni enseigne"

_FIELD_LENGTHS = {
    f.name: f.max_length
    for f in RegistryEstablishment._meta.concrete_fields
    if getattr(f, "max_length", None)
}
_UPDATE_FIELDS = [
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
    "imported_at",
]
# The fields compared to decide whether an existing row changed.
_COMPARED_FIELDS = [f for f in _UPDATE_FIELDS if f != "imported_at"]


@dataclass
class RegistryImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: Counter = field(default_factory=Counter)
    # A few examples per reason: (line number, SIRET or raw value).
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    establishments_updated: int = 0
    seconds: float = 0.0

    MAX_EXAMPLES = 5

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, reason: str, line: int, value: str) -> None:
        self.rejected[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < self.MAX_EXAMPLES:
            examples.append((line, value))


@contextmanager
def sirene_file_open(path: str | Path) -> Iterator[TextIO]:
    """Open a StockEtablissement file as text: plain ``.csv``, ``.gz``, or ``.zip`` (the
    CSV member inside, as INSEE ships it). Always streamed, never read whole."""
    path = Path(path)
    if not path.is_file():
        raise RegistryImportError(_("Fichier introuvable : %(path)s") % {"path": path})
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
                if len(members) != 1:
                    raise RegistryImportError(
                        _(
                            "L'archive %(name)s doit contenir exactement un fichier CSV "
                            "(%(count)s trouvé(s))."
                        )
                        % {"name": path.name, "count": len(members)}
                    )
                with archive.open(members[0]) as raw:
                    yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        elif name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as text:
                yield text
        else:
            with open(path, encoding="utf-8-sig", newline="") as text:
                yield text
    except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError) as exc:
        raise RegistryImportError(
            _("Archive illisible : %(name)s (%(error)s).") % {"name": path.name, "error": exc}
        ) from exc
    except UnicodeDecodeError as exc:
        raise RegistryImportError(
            _("Le fichier %(name)s n'est pas encodé en UTF-8 (octet %(offset)s).")
            % {"name": path.name, "offset": exc.start}
        ) from exc


def _clip(value: str, field_name: str) -> str:
    return value.strip()[: _FIELD_LENGTHS[field_name]]


def _parse_date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    return date.fromisoformat(value)  # ValueError on anything but YYYY-MM-DD


def _address(cells: list[str], index: dict[str, int]) -> tuple[str, str, str, str, str, str]:
    """A row's address as stored: street number, extension ("B" → "bis"), street name
    (the type's code expanded: "BD" → "BOULEVARD"), complement, postal code and town,
    trimmed and clipped to their columns. Both import paths call it."""
    street_type = cells[index["typeVoieEtablissement"]].strip().upper()
    street_name = " ".join(
        part
        for part in (
            _STREET_TYPES.get(street_type, street_type),
            cells[index["libelleVoieEtablissement"]].strip(),
        )
        if part
    )
    repetition = cells[index["indiceRepetitionEtablissement"]].strip().upper()
    return (
        _clip(cells[index["numeroVoieEtablissement"]], "street_number"),
        _clip(_REPETITION.get(repetition, repetition), "street_extension"),
        _clip(street_name, "street_name"),
        _clip(cells[index["complementAdresseEtablissement"]], "address_complement"),
        _clip(cells[index["codePostalEtablissement"]], "postal_code"),
        _clip(cells[index["libelleCommuneEtablissement"]], "city"),
    )


def _rows(
    stream: TextIO, report: RegistryImportReport, reject: Callable[[str, int, str], None]
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells), turning the csv module's errors into rejections (counted
    as read, never yielded)."""
    reader = csv.reader(stream)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            report.read += 1
            reject(REJECT_UNREADABLE, reader.line_num, "")
            continue
        yield reader.line_num, cells


def _header(reader: Iterator[tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    """Read the header: the row width and the position of each column the import reads."""
    try:
        _line, header = next(reader)
    except StopIteration:
        raise RegistryImportError(_("Le fichier est vide : l'en-tête INSEE est attendu.")) from None
    header = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise RegistryImportError(
            "Colonnes INSEE manquantes dans l'en-tête : "
            + ", ".join(missing)
            + ". Le fichier attendu est le « StockEtablissement » de la base SIRENE."
        )
    return len(header), {name: header.index(name) for name in COLUMNS}


# Rows per transaction when --batch-size is not given: the row-by-row path holds a batch of
# model instances and looks them up with one ``IN (…)`` (SQLite allows 32,766 parameters);
# the set-based path's statements each cost a few milliseconds whatever the batch's size.
ROW_BATCH_SIZE = 5000
BULK_BATCH_SIZE = 100_000


def registry_import(
    *,
    stream: TextIO,
    batch_size: int | None = None,
    require_denomination: bool = False,
    progress: Callable[[RegistryImportReport], None] | None = None,
    progress_every: int = 100_000,
    bulk: bool | None = None,
) -> RegistryImportReport:
    """Upsert the rows of a StockEtablissement CSV into ``RegistryEstablishment``.

    Each row becomes one registry row keyed by SIRET. The dénomination is
    ``denominationUsuelleEtablissement``, else ``enseigne1Etablissement``, else empty: most
    establishments of the real stock file have neither (their legal name lives in the
    separate StockUniteLegale file), and rejecting them would make valid, active SIRETs look
    unknown. ``require_denomination=True`` rejects those rows instead.

    Rows are compared with what is stored: only new and changed rows are written, so a
    second run of the same file writes nothing. Known establishments (``Establishment``)
    get their ``registry_status`` brought up to date batch by batch, and each batch that
    closes establishments sends ``establishments.signals.registry_closed``.

    The file is cut into batches of ``batch_size`` rows read, one transaction each. A SIRET
    seen twice in the same batch is rejected the second time; the same SIRET in two
    batches is written twice (the later row wins), as the INSEE stock has no duplicates.

    Two paths give the same report and the same rows: on PostgreSQL (``bulk`` None or
    True) each batch is streamed by COPY into a temporary table and checked, compared and
    upserted by a few set-based statements (``establishments.registry_bulk``); elsewhere
    (``bulk=False``, or SQLite) rows are checked one by one in Python.
    """
    if bulk is None:
        bulk = connection.vendor == "postgresql"
    if bulk and connection.vendor != "postgresql":
        raise ValueError("The set-based registry import needs PostgreSQL (COPY).")
    if bulk:
        # Imported here because registry_bulk reuses this module's reader, report and
        # constants (a module-level import would be circular).
        from .registry_bulk import registry_import_bulk

        return registry_import_bulk(
            stream=stream,
            batch_size=batch_size or BULK_BATCH_SIZE,
            require_denomination=require_denomination,
            progress=progress,
            progress_every=progress_every,
        )
    return _registry_import_rows(
        stream=stream,
        batch_size=batch_size or ROW_BATCH_SIZE,
        require_denomination=require_denomination,
        progress=progress,
        progress_every=progress_every,
    )


def _registry_import_rows(
    *,
    stream: TextIO,
    batch_size: int,
    require_denomination: bool,
    progress: Callable[[RegistryImportReport], None] | None,
    progress_every: int,
) -> RegistryImportReport:
    """The row-by-row path: every check in Python, one batch upserted by the ORM."""
    report = RegistryImportReport()
    started = time.monotonic()
    reader = _rows(stream, report, report.reject)
    width, index = _header(reader)

    batch: dict[str, RegistryEstablishment] = {}
    chunk = 0  # the batch the current row belongs to: (rows read - 1) // batch_size
    for line, cells in reader:
        report.read += 1
        if (report.read - 1) // batch_size != chunk:
            chunk = (report.read - 1) // batch_size
            if batch:
                _flush(batch, report)
                batch = {}
        if progress is not None and report.read % progress_every == 0:
            report.seconds = time.monotonic() - started
            progress(report)
        if len(cells) != width:
            report.reject(REJECT_MALFORMED, line, ",".join(cells)[:40])
            continue
        row = {name: cells[i] for name, i in index.items()}
        raw_siret = row["siret"].strip()
        try:
            siret = clean_siret(raw_siret)
        except ValidationError:
            report.reject(REJECT_SIRET, line, raw_siret)
            continue
        if (row["siren"].strip() and row["siren"].strip() != siret[:9]) or (
            row["nic"].strip() and row["nic"].strip() != siret[9:]
        ):
            report.reject(REJECT_SIREN_MISMATCH, line, siret)
            continue
        status = row["etatAdministratifEtablissement"].strip().upper()
        if status not in AdministrativeStatus.values:
            report.reject(REJECT_STATUS, line, siret)
            continue
        try:
            started_on = _parse_date(row["dateDebut"])
        except ValueError:
            report.reject(REJECT_DATE, line, siret)
            continue
        denomination = (
            row["denominationUsuelleEtablissement"].strip() or row["enseigne1Etablissement"].strip()
        )
        if not denomination and require_denomination:
            report.reject(REJECT_NO_DENOMINATION, line, siret)
            continue
        if siret in batch:
            report.reject(REJECT_DUPLICATE, line, siret)
            continue
        (
            street_number,
            street_extension,
            street_name,
            address_complement,
            postal_code,
            city,
        ) = _address(cells, index)
        batch[siret] = RegistryEstablishment(
            siret=siret,
            siren=siret[:9],
            administrative_status=status,
            denomination=_clip(denomination, "denomination"),
            started_on=started_on,
            street_number=street_number,
            street_extension=street_extension,
            street_name=street_name,
            address_complement=address_complement,
            postal_code=postal_code,
            city=city,
        )
    if batch:
        _flush(batch, report)
    report.seconds = time.monotonic() - started
    if progress is not None:
        progress(report)
    return report


def _flush(batch: dict[str, RegistryEstablishment], report: RegistryImportReport) -> None:
    """Write one batch: compare with the stored rows, upsert the new and changed ones, and
    bring the known establishments' registry status up to date, in one transaction."""
    closed = AdministrativeStatus.CLOSED
    active = AdministrativeStatus.ACTIVE
    with transaction.atomic():
        stored = {
            values[0]: values[1:]
            for values in RegistryEstablishment.objects.filter(siret__in=batch.keys())
            .values_list("siret", *_COMPARED_FIELDS)
            .iterator(chunk_size=len(batch))
        }
        status_at = _COMPARED_FIELDS.index("administrative_status")
        closures: set[str] = set()
        to_write = []
        for siret, row in batch.items():
            current = stored.get(siret)
            if current is None:
                report.inserted += 1
            elif current != tuple(getattr(row, name) for name in _COMPARED_FIELDS):
                report.updated += 1
                if current[status_at] == active and row.administrative_status == closed:
                    closures.add(siret)
            else:
                report.unchanged += 1
                continue
            to_write.append(row)
        if to_write:
            # update_conflicts: a row inserted by a concurrent run between our read and
            # our write is updated instead of failing the whole batch.
            RegistryEstablishment.objects.bulk_create(
                to_write,
                batch_size=len(to_write),
                update_conflicts=True,
                unique_fields=["siret"],
                update_fields=_UPDATE_FIELDS,
            )
        now = timezone.now()
        for status in AdministrativeStatus.values:
            sirets = [s for s, row in batch.items() if row.administrative_status == status]
            if not sirets:
                continue
            known = Establishment.objects.filter(siret__in=sirets).exclude(registry_status=status)
            if status == closed:
                closures.update(
                    known.filter(registry_status=active)
                    .select_for_update()
                    .values_list("siret", flat=True)
                )
            report.establishments_updated += known.update(registry_status=status, updated_at=now)
        if closures:
            registry_closed.send(sender=RegistryEstablishment, sirets=frozenset(closures))
