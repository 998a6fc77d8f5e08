from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from worker.memo import Memo
from worker.services import email_queue
from worker.text import has_forbidden

from .models import ApiKey, PersonalToken, StaffEnrolmentLink, User, secret_digest
from .second_factor import second_factor_forget

# The secret-link kind of the outbox (worker.hooks) for the second factor's enrolment.
ENROLMENT_LINK_KIND = "staff_enrolment"
# A user who reloads the page does not get a new e-mail each time.
ENROLMENT_LINK_RESEND_AFTER = timedelta(minutes=5)

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
    if not raw_key or "." not in raw_key or has_forbidden(raw_key):
        return None  # (a NUL byte would reach the database's lookup)
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
    if not raw_token or "." not in raw_token or has_forbidden(raw_token):
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


def totp_enrolment_confirm(
    *, user: User, device: TOTPDevice, token: str, enrolment_link_id: int | None
) -> bool:
    """Confirm the enrolling device when ``token`` is a valid code from it and the user
    opened an enrolment link sent to their own address (``enrolment_link_id``, see
    ``staff_enrolment_link_use``): the password alone does not add a second factor."""
    if not staff_enrolment_granted(user=user, link_id=enrolment_link_id):
        return False
    if device.user_id != user.pk or device.confirmed:
        return False
    if not device.verify_token(token):
        return False
    with transaction.atomic():
        type(device).objects.filter(pk=device.pk).update(confirmed=True)
        type(device).objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        # A new confirmed device (QuerySet.update sends no signal): sessions read it.
        second_factor_forget()
    device.confirmed = True
    return True


def totp_device_set_demo(*, user: User, hex_key: str) -> TOTPDevice:
    """Give a demo user a confirmed TOTP device with a fixed, documented secret (seed_demo)."""
    device, _created = TOTPDevice.objects.update_or_create(
        user=user, name="Démonstration", defaults={"key": hex_key, "confirmed": True}
    )
    return device


# --- The second factor's enrolment link -------------------------------------------------


def _enrolment_link_validity() -> timedelta:
    return timedelta(hours=settings.STAFF_ENROLMENT_LINK_HOURS)


def _active_enrolment_links(now: datetime) -> QuerySet[StaffEnrolmentLink]:
    return StaffEnrolmentLink.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )


def staff_enrolment_link_send(*, user: User) -> StaffEnrolmentLink | None:
    """E-mail ``user`` a one-time link to enrol the second factor, to the account's own
    address, unless one was sent in the last few minutes and is still usable (a reload
    of the page sends nothing). A new link revokes the older ones. None when the user
    already has a confirmed device (a new one only through an administrator)."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    now = timezone.now()
    with transaction.atomic():
        # Lock the user's row: two tabs asking at once send one link.
        User.objects.select_for_update().filter(pk=user.pk).first()
        recent = (
            _active_enrolment_links(now)
            .filter(user=user, created_at__gt=now - ENROLMENT_LINK_RESEND_AFTER)
            .first()
        )
        if recent is not None:
            return recent
        _active_enrolment_links(now).filter(user=user).update(revoked_at=now)
        link = StaffEnrolmentLink.objects.create(
            user=user, created_at=now, expires_at=now + _enrolment_link_validity()
        )
        email_queue(
            template="staff_enrolment",
            to_email=user.email,
            context={
                "name": user.get_full_name() or user.email,
                "hours": settings.STAFF_ENROLMENT_LINK_HOURS,
                "secret_link": {"kind": ENROLMENT_LINK_KIND, "id": link.pk},
            },
        )
    return link


def staff_enrolment_link_issue(spec: dict) -> dict | None:
    """Draw the link's token at send time (worker.hooks): only its SHA-256 is stored.
    None when the link was used, revoked or expired meanwhile (the e-mail is not sent)."""
    raw = secrets.token_urlsafe(32)
    issued = (
        _active_enrolment_links(timezone.now())
        .filter(pk=spec["id"])
        .update(token_hash=secret_digest(raw))
    )
    if not issued:
        return None
    path = reverse("backoffice:otp_enrol_link", args=[raw])
    return {"link_url": f"{settings.SITE_BASE_URL}{path}"}


def staff_enrolment_link_sent(spec: dict) -> None:
    StaffEnrolmentLink.objects.filter(pk=spec["id"]).update(sent_at=timezone.now())


def staff_enrolment_link_use(*, raw_token: str) -> StaffEnrolmentLink | None:
    """Spend a link: one conditional UPDATE, so a link opens once, before it expires.
    Returns the link, or None for an unknown, used, revoked or expired one."""
    if not raw_token or len(raw_token) > 100:
        return None
    digest = secret_digest(raw_token)
    now = timezone.now()
    link = _active_enrolment_links(now).filter(token_hash=digest).first()
    if link is None:
        return None
    if not _active_enrolment_links(now).filter(pk=link.pk).update(used_at=now):
        return None  # another request spent it first
    link.used_at = now
    return link


def staff_enrolment_granted(*, user: User, link_id: int | None) -> bool:
    """Whether ``user`` opened the enrolment link ``link_id`` (spent, still within its
    validity, not revoked): the session that opened it may enrol a device until then."""
    if not link_id:
        return False
    return StaffEnrolmentLink.objects.filter(
        pk=link_id,
        user=user,
        used_at__isnull=False,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
