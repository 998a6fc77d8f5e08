"""The postal code → towns table (``PostalCodeTown``), derived from the registry.

Every SIRENE row carries its establishment's postal code and town; the distinct pairs are
the towns a postal code serves, as far as the registry knows. The table only grows: a town
does not stop existing when an establishment closes. Rebuilt after each
``manage.py import_sirene`` and by ``seed_demo``.
"""

from __future__ import annotations

import re

from django.db import transaction

from .models import PostalCodeTown, RegistryEstablishment

POSTAL_CODE_RE = re.compile(r"^[0-9]{5}$")
BATCH = 2000


def postal_code_towns_rebuild() -> int:
    """Add the (postal code, town) pairs of the registry that the table lacks. Returns
    how many were added. Idempotent."""
    pairs = (
        RegistryEstablishment.objects.exclude(postal_code="")
        .exclude(city="")
        .values_list("postal_code", "city")
        .distinct()
        .order_by()
    )
    with transaction.atomic():
        known = set(PostalCodeTown.objects.values_list("postal_code", "name"))
        new = [
            PostalCodeTown(postal_code=code, name=name.strip())
            for code, name in pairs.iterator(chunk_size=BATCH)
            if POSTAL_CODE_RE.match(code) and name.strip() and (code, name.strip()) not in known
        ]
        PostalCodeTown.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    return len(new)


def postal_code_towns(*, postal_code: str) -> list[str]:
    """The towns of ``postal_code`` in alphabetical order (empty for a malformed code)."""
    code = (postal_code or "").strip()
    if not POSTAL_CODE_RE.match(code):
        return []
    return list(
        PostalCodeTown.objects.filter(postal_code=code)
        .order_by("name")
        .values_list("name", flat=True)
    )
