"""Print the current second-factor code of a demo user (``make run``, end-to-end tests).

The demo users of ``seed_demo`` have TOTP devices with fixed, published secrets; this
command computes their current code so that whoever runs the demo can log in without an
authenticator app. Refused in production.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Affiche le code à 6 chiffres actuel d'un utilisateur de démonstration."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        if settings.PRODUCTION:
            raise CommandError(_("demo_totp est réservé à la démonstration (APP_ENV=production)."))
        device = (
            TOTPDevice.objects.filter(user__email=email.strip().lower(), confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(
                _("Aucun second facteur confirmé pour %(email)s.") % {"email": email}
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
