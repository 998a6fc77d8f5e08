"""The outbox becomes generic: ``OutboundEmail`` is renamed ``OutboxJob`` and gains a
``kind`` (``"email"`` for every existing row); ``OutboundEmail`` stays as a proxy of the
e-mail jobs. No row is rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_routing_change_audit"),
        ("worker", "0002_outboundemail_cancelled_status"),
    ]

    operations = [
        migrations.RenameModel(old_name="OutboundEmail", new_name="OutboxJob"),
        migrations.AlterModelOptions(
            name="outboxjob",
            options={"verbose_name": "tâche sortante", "verbose_name_plural": "tâches sortantes"},
        ),
        migrations.AddField(
            model_name="outboxjob",
            name="kind",
            field=models.CharField(default="email", max_length=50, verbose_name="type"),
        ),
        migrations.AlterField(
            model_name="outboxjob",
            name="template",
            field=models.CharField(blank=True, max_length=100, verbose_name="modèle"),
        ),
        migrations.AlterField(
            model_name="outboxjob",
            name="to_email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="destinataire"),
        ),
        migrations.AlterField(
            model_name="outboxjob",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "À traiter"),
                    ("sending", "En cours"),
                    ("sent", "Fait"),
                    ("failed", "Échec"),
                    ("cancelled", "Sans objet"),
                ],
                default="pending",
                max_length=10,
                verbose_name="statut",
            ),
        ),
        migrations.AlterField(
            model_name="outboxjob",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="fait le"),
        ),
        migrations.AddIndex(
            model_name="outboxjob",
            index=models.Index(
                condition=models.Q(("kind", "email"), _negated=True),
                fields=["kind", "created_at"],
                name="outbox_done_kind_idx",
            ),
        ),
        migrations.CreateModel(
            name="OutboundEmail",
            fields=[],
            options={
                "verbose_name": "courriel sortant",
                "verbose_name_plural": "courriels sortants",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("worker.outboxjob",),
        ),
    ]
