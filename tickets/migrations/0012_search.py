# The search box (tickets/search.py): the phone index, and on PostgreSQL the French
# full-text index over the dénomination, the requester's name and the description, with
# accents ignored. ``unaccent`` is not IMMUTABLE (its dictionary could change), so an
# index cannot call it: ``apsupport_unaccent`` is the usual IMMUTABLE wrapper.
# Building the GIN index reads every ticket once (about a minute per million tickets).

from django.db import migrations, models

# Kept identical to tickets.search.INDEX_DOCUMENT_SQL (written out here: a migration
# must not change when the code does; a test compares the two).
INDEX_DOCUMENT_SQL = (
    "to_tsvector('french'::regconfig, apsupport_unaccent("
    "denomination || ' ' || requester_name || ' ' || description))"
)

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE OR REPLACE FUNCTION apsupport_unaccent(text) RETURNS text "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    f"CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin ({INDEX_DOCUMENT_SQL})",
]
DROP = [
    "DROP INDEX IF EXISTS ticket_search_idx",
    "DROP FUNCTION IF EXISTS apsupport_unaccent(text)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0011_queue_assignee_index_includes_motif"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["phone"], name="ticket_phone_idx"),
        ),
        migrations.RunPython(_run(CREATE), _run(DROP)),
    ]
