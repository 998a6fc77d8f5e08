# The dashboard's "hors délai" count per queue reads this partial covering index only.
# (Depends on 0015: another branch adds 0016; the dependency is fixed at merge.)

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0016_canned_replies"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ("nouveau", "en_cours", "en_attente"))),
                fields=["queue", "sla_resolution_due"],
                include=("first_response_at", "sla_first_response_due"),
                name="ticket_open_sla_queue_idx",
            ),
        ),
    ]
