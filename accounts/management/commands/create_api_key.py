from django.core.management.base import BaseCommand, CommandError

from accounts.staff.models import ApiKey
from accounts.staff.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a client system and print it once (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who holds the key, e.g. 'extranet-production'.")

    def handle(self, *args, name: str, **options):
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"An API key named {name!r} already exists.")
        _key, raw = api_key_create(name=name)
        self.stdout.write(f"API key for {name} (shown once, store it now):\n{raw}")
