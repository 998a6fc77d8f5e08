# The planner's statistics on the search document (tickets/search.py): 1,000 instead of
# 100, so that ANALYZE keeps the frequency of ten times more words (PostgreSQL's
# most_common_elems). With the default, every word beyond the hundred most common is
# estimated at half the least common one's frequency, a few thousand rows at 1,000,000
# tickets: for a rare word ("orfèvrerie", one request in 10,000) the planner then walked
# the tickets newest first, 745,000 rows, 1.2 s; with 1,000 it reads the GIN index, 0.4 ms,
# and a common word ("extranet") still walks the newest tickets (2 ms). ANALYZE of the
# ticket table samples 300,000 rows instead of 30,000 (7 s at 1,000,000 tickets).
# Nothing on SQLite.

from django.db import migrations

FORWARD = "ALTER TABLE tickets_ticket ALTER COLUMN search_document SET STATISTICS 1000"
BACKWARD = "ALTER TABLE tickets_ticket ALTER COLUMN search_document SET STATISTICS -1"


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0018_perf"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
