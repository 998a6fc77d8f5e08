"""One-row INSERTs built once, for the hottest write paths (the outbox row of every
e-mail), where building the ORM's INSERT cost more CPU than running it.

``row_insert(model, values)`` writes what ``model.objects.create(**values)`` writes for
a plain model: the given values, every other field's default as a new instance has it
(``auto_now`` / ``auto_now_add`` fields: now), each value through the field's own
``get_db_prep_save``. What it skips: ``save()`` overrides and the ``pre_save`` /
``post_save`` signals. Use it only for models that have neither (the tests compare its
rows with the ORM's).
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connection, models
from django.db.models import Field
from django.utils import timezone

# (model, given fields, vendor) -> (SQL, the fields in column order)
_BUILT: dict[tuple[type[models.Model], tuple[str, ...], str], tuple[str, list[Field]]] = {}


def _build(model: type[models.Model], given: tuple[str, ...]) -> tuple[str, list[Field]]:
    meta = model._meta
    fields = [cast(Field, f) for f in meta.concrete_fields if not f.primary_key]
    unknown = set(given) - {f.attname for f in fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(str(cast(Field, meta.pk).column))}"
    return sql, fields


def _value(field: Field, values: dict[str, Any]) -> Any:
    if field.attname in values:
        return values[field.attname]
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    # As a model instance would: its default, else "" for text, else None (a NOT NULL
    # column then refuses the row, as it refuses the ORM's).
    return field.get_default()


def row_insert(model: type[models.Model], values: dict[str, Any]) -> int:
    """Insert one row of ``model`` (``values`` by attribute name: ``ticket_id``, not
    ``ticket``) and return its primary key."""
    key = (model, tuple(values), connection.vendor)
    built = _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = _build(model, key[1])
    sql, fields = built
    params = [f.get_db_prep_save(_value(f, values), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid
