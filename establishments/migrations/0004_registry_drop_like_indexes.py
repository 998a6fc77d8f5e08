"""Drop the registry's two ``varchar_pattern_ops`` indexes (PostgreSQL only).

Django adds a ``…_like`` index beside every indexed CharField on PostgreSQL, for
``LIKE 'prefix%'`` lookups. Nothing looks the registry up by a SIRET or SIREN prefix (only
``siret = …``, served by the primary key, and ``siren = …``, by its own index), and the
registry is the one table of 40 million rows: these two indexes cost about a third of the
import's write time and some 2 GB. Instant on any size (no table rewrite). If a prefix
search on the registry is ever needed, add the index back with ``Meta.indexes``.
"""

from django.db import migrations

TABLE = "establishments_registryestablishment"


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexdef LIKE '%%varchar_pattern_ops%%'",
            [TABLE],
        )
        for (name,) in cursor.fetchall():
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in ("siret", "siren"):
        name = schema_editor.quote_name(f"{TABLE}_{column}_like")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} ({column} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("establishments", "0003_establishment_changes")]

    operations = [migrations.RunPython(drop_like_indexes, create_like_indexes)]
