# Search (tickets/search.py) on a stored document: the French tsvector of the dénomination,
# the requester's name and the description, as a column PostgreSQL computes itself on every
# insert and update (GENERATED … STORED), with the GIN index on it. A search for a common
# word walks the tickets newest first and keeps the matching ones: with the document
# stored, each row costs a tsvector match instead of re-parsing its whole text (48 ms →
# a few ms at 1,000,000 tickets). The expression index of 0012 is replaced by this one.
# Adding the column rewrites the table once (about a minute per million tickets).
# Nothing on SQLite: the search there is a LIKE on the fields (tickets/search.py).

from django.db import migrations

# Kept identical to tickets.search.INDEX_DOCUMENT_SQL (written out here: a migration must
# not change when the code does; a test compares the two).
INDEX_DOCUMENT_SQL = (
    "to_tsvector('french'::regconfig, apsupport_unaccent("
    "denomination || ' ' || requester_name || ' ' || description))"
)

FORWARD = [
    "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_document tsvector "
    f"GENERATED ALWAYS AS ({INDEX_DOCUMENT_SQL}) STORED",
    "CREATE INDEX IF NOT EXISTS ticket_search_document_idx ON tickets_ticket "
    "USING gin (search_document)",
    "DROP INDEX IF EXISTS ticket_search_idx",
]
BACKWARD = [
    f"CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin ({INDEX_DOCUMENT_SQL})",
    "DROP INDEX IF EXISTS ticket_search_document_idx",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document",
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
        ("tickets", "0017_attention"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
