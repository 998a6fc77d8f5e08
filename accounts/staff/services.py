from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from worker.memo import Memo

from .models import ApiKey, PersonalToken, User

# The extranet calls the API with a handful of keys, on every request: each web process
# keeps the rows it read (worker/memo.py). A revocation or a new key invalidates them on
# every node at once; with the cache unreachable, every request reads the database.
API_KEYS = Memo("api_keys", max_age=30)


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
    transaction.on_commit(API_KEYS.invalidate)
    return key, raw_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """Return the active key matching ``raw_key``, or None. Constant-time comparison."""
    if not raw_key or "." not in raw_key:
        return None
    prefix = raw_key.split(".", 1)[0]
    key = API_KEYS.get(
        prefix, lambda: ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    )
    if key is None or not key.matches(raw_key):
        return None
    # Recording the last use is useful, but not worth a write per request.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 300:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    # Now, not on commit: a revocation must not wait (a memo read again costs nothing).
    API_KEYS.invalidate()
    transaction.on_commit(API_KEYS.invalidate)


# --- Personal tokens (agent API) ---------------------------------------------------------


def personal_token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """Create a personal token for ``user`` and return it with its raw value, shown once."""
    prefix = secrets.token_hex(PersonalToken.PREFIX_LENGTH // 2)
    raw = f"{prefix}.{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = PersonalToken.objects.create(
            user=user, name=name.strip()[:100], prefix=prefix, token_hash=PersonalToken.digest(raw)
        )
    return token, raw


def personal_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s own tokens. Returns False when there is no such active token
    (another user's token id gets the same answer as a missing one)."""
    with transaction.atomic():
        return bool(
            PersonalToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        )


def personal_token_authenticate(*, raw_token: str) -> User | None:
    """The user a raw personal token stands for, or None.

    The user must be active and have a confirmed second factor: a token is a way to call
    the API from a script, never a way around the second factor.
    """
    if not raw_token or "." not in raw_token:
        return None
    prefix = raw_token.split(".", 1)[0]
    token = (
        PersonalToken.objects.select_related("user")
        .filter(prefix=prefix, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or not token.matches(raw_token):
        return None
    if not user_has_device(token.user, confirmed=True):
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- Second factor (TOTP) -----------------------------------------------------------------


def totp_enrolment_device(*, user: User) -> TOTPDevice | None:
    """The unconfirmed TOTP device an agent is enrolling, created on first call.

    Only for a user without a confirmed device: once enrolled, a new device can only come
    from an administrator resetting the old one (a stolen password must not be enough to
    add a second factor).
    """
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, name="Application d'authentification", confirmed=False
            )
    return device


def totp_enrolment_confirm(*, user: User, device: TOTPDevice, token: str) -> bool:
    """Confirm the enrolling device when ``token`` is a valid code from it."""
    if device.user_id != user.pk or device.confirmed:
        return False
    if not device.verify_token(token):
        return False
    with transaction.atomic():
        type(device).objects.filter(pk=device.pk).update(confirmed=True)
        type(device).objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
    device.confirmed = True
    return True


def totp_device_set_demo(*, user: User, hex_key: str) -> TOTPDevice:
    """Give a demo user a confirmed TOTP device with a fixed, documented secret (seed_demo)."""
    device, _created = TOTPDevice.objects.update_or_create(
        user=user, name="Démonstration", defaults={"key": hex_key, "confirmed": True}
    )
    return device
