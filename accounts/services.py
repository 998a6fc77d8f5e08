from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiKey


def api_key_create(*, name: str, raw_key: str | None = None) -> tuple[ApiKey, str]:
    """Create an API key and return it with its raw value, which is never stored.

    ``raw_key`` lets the demo seed use a fixed, documented key; everything else gets a fresh
    random one.
    """
    if raw_key is None:
        prefix = secrets.token_hex(ApiKey.PREFIX_LENGTH // 2)
        raw_key = f"{prefix}.{secrets.token_urlsafe(32)}"
    prefix = raw_key.split(".", 1)[0][: ApiKey.PREFIX_LENGTH]
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=ApiKey.digest(raw_key))
    return key, raw_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """Return the active key matching ``raw_key``, or None. Constant-time comparison."""
    if not raw_key or "." not in raw_key:
        return None
    prefix = raw_key.split(".", 1)[0]
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not key.matches(raw_key):
        return None
    # Recording the last use is useful, but not worth a write per request.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 300:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# Identifiants are never e-mail addresses (S1: "Ne pas saisir d'adresse de messagerie"):
# letters and digits without the ones people confuse (0/O, 1/I/L).
IDENTIFIANT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def extranet_identifiant_generate() -> str:
    from .models import ExtranetAccount

    while True:
        candidate = "AP" + "".join(secrets.choice(IDENTIFIANT_ALPHABET) for _ in range(8))
        if not ExtranetAccount.objects.filter(identifiant=candidate).exists():
            return candidate
