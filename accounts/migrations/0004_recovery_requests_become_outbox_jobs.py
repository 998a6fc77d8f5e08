"""The "J'ai oublié…" requests become outbox jobs (kind ``accounts.recovery_request``): the
pending ones are moved into the outbox, then the table goes."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def move_pending(apps, schema_editor):
    RecoveryRequest = apps.get_model("accounts", "RecoveryRequest")
    OutboxJob = apps.get_model("worker", "OutboxJob")
    now = timezone.now()
    OutboxJob.objects.bulk_create(
        [
            OutboxJob(
                kind="accounts.recovery_request",
                context={
                    "purpose": request.purpose,
                    "lookup": request.lookup,
                    "requested_ip_hash": request.requested_ip_hash,
                },
                status="pending",
                next_attempt_at=now,
                enqueued_at=None,
            )
            for request in RecoveryRequest.objects.filter(processed_at__isnull=True)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_personaltoken"),
        ("worker", "0003_outbox_jobs"),
    ]

    operations = [
        migrations.RunPython(move_pending, migrations.RunPython.noop),
        migrations.DeleteModel(name="RecoveryRequest"),
        migrations.AlterField(
            model_name="recoverylink",
            name="email",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="worker.outboxjob",
            ),
        ),
    ]
