"""One queue per motif family; "Habilitation à l'extranet" has its own, and a default queue
catches anything no rule covers. Supervisors change these rows afterwards."""

from django.db import migrations

QUEUES = [
    ("habilitation", "Habilitation à l'extranet", False,
     "Accès à l'extranet : comptes, identifiants, réattribution (cas 2.1 et 3)."),
    ("etablissement", "Établissements et autorisations", False,
     "Fiches établissement et décisions d'autorisation."),
    ("indemnisation", "Indemnisation", False, "Demandes d'indemnisation."),
    ("certificats", "Certificats de signature", False, "Certificats de signature électronique."),
    ("general", "Demandes générales", True, "Autres demandes, et toute demande non routée."),
]

# motif, queue, priority (20 normal, 30 high), first response hours, resolution hours
RULES = [
    ("habilitation_extranet", "habilitation", 30, 8, 24),
    ("fiche_etablissement", "etablissement", 20, 16, 40),
    ("decision_autorisation", "etablissement", 20, 16, 40),
    ("demande_indemnisation", "indemnisation", 30, 8, 40),
    ("certificat_signature", "certificats", 20, 16, 40),
    ("autres", "general", 20, 16, 40),
]


def seed(apps, schema_editor):
    Queue = apps.get_model("tickets", "Queue")
    RoutingRule = apps.get_model("tickets", "RoutingRule")
    queues = {}
    for slug, name, is_default, description in QUEUES:
        queues[slug], _ = Queue.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "is_default": is_default, "description": description},
        )
    for motif, queue_slug, priority, first_response, resolution in RULES:
        RoutingRule.objects.get_or_create(
            motif=motif,
            defaults={
                "queue": queues[queue_slug],
                "priority": priority,
                "first_response_hours": first_response,
                "resolution_hours": resolution,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
