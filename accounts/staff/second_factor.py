"""The verified second factor, checked once per session and kept honest without a query
per request.

django-otp's middleware loads the verified device from the database on every request
(one SELECT per back-office page) to see that it still exists, belongs to the user and is
confirmed. Here the code page records, next to django-otp's device id, a *fingerprint* of
the device that accepted the code (an HMAC of its id, owner, secret key and confirmed
flag). Each request compares it with the user's confirmed devices as a per-process memo
holds them (``worker.memo``: one cache GET for the shared version stamp, no SQL). Any
saved change that alters a fingerprint (a device deleted, reset to a new key, unconfirmed,
given to someone else) and any new device invalidates the memo on every process of every
node: the session stops at its next request (``backoffice.middleware``). A deactivated user
is refused by Django itself (``ModelBackend.get_user``): no memo is involved.

When the cache cannot be reached, the memo is not trusted and every request reads the
devices (one SELECT, as before). A change made while the cache is unreachable reaches the
other processes within ``max_age`` (60 s), as for API keys.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.db.models.signals import post_delete, post_init, post_save
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.models import Device

from worker.memo import Memo

# The session key holding the fingerprint of the device that accepted the code.
FINGERPRINT_SESSION_KEY = "backoffice_second_factor"
SECOND_FACTORS = Memo("second_factors", max_age=60)
_LOADED_FINGERPRINT = "_second_factor_fingerprint"


@cache
def device_classes() -> tuple[type[Device], ...]:
    return tuple(
        model
        for model in apps.get_models()
        if issubclass(model, Device) and not model._meta.abstract
    )


def device_fingerprint(device: Device) -> str:
    """What a session trusts of its device: id, owner, secret and confirmation. A change
    of any of them changes it (the secret never leaves the HMAC)."""
    material = "|".join(
        (
            device.persistent_id,
            str(device.user_id),
            str(getattr(device, "key", "")),
            "1" if device.confirmed else "0",
        )
    )
    return salted_hmac("accounts.staff.second_factor", material).hexdigest()[:32]


def _confirmed_fingerprints(user_id: int) -> dict[str, str]:
    fingerprints: dict[str, str] = {}
    for model in device_classes():
        for device in model.objects.filter(user_id=user_id, confirmed=True):
            fingerprints[device.persistent_id] = device_fingerprint(device)
    return fingerprints


def second_factor_valid(*, user_id: int, persistent_id: str, fingerprint: str) -> bool:
    """Is the device this session verified with still the user's, unchanged? No SQL when
    the memo is fresh."""
    current = SECOND_FACTORS.get(user_id, lambda: _confirmed_fingerprints(user_id))
    expected = current.get(persistent_id)
    return expected is not None and constant_time_compare(expected, fingerprint)


def second_factor_forget() -> None:
    """Every process reads the devices again at its next request (now, and again once
    committed: a process that read the old rows under the first new stamp reads them
    again)."""
    from django.db import transaction

    SECOND_FACTORS.invalidate()
    transaction.on_commit(SECOND_FACTORS.invalidate)


def _remember_loaded(sender: Any, instance: Device, **kwargs: Any) -> None:
    # Only for whole rows read from the database: a new device is a change anyway, and a
    # partly loaded one (``only()``) is taken as changed when saved (no query here).
    if instance.pk is not None and not instance.get_deferred_fields():
        setattr(instance, _LOADED_FINGERPRINT, device_fingerprint(instance))


def _saved(sender: Any, instance: Device, created: bool, **kwargs: Any) -> None:
    # A code entry saves the device (its last counter, throttling): nothing a session
    # trusts changed then, and other sessions need not read it again.
    loaded = getattr(instance, _LOADED_FINGERPRINT, None)
    fingerprint = device_fingerprint(instance)
    if created or loaded != fingerprint:
        second_factor_forget()
    setattr(instance, _LOADED_FINGERPRINT, fingerprint)


def _deleted(sender: Any, instance: Device, **kwargs: Any) -> None:
    second_factor_forget()


def connect() -> None:
    for model in device_classes():
        label = model._meta.label_lower
        post_init.connect(_remember_loaded, sender=model, dispatch_uid=f"2fa_init.{label}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"2fa_save.{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"2fa_delete.{label}")
