"""Back-office sign-in for tests: a session with a verified second factor."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY

from accounts.staff.second_factor import FINGERPRINT_SESSION_KEY, device_fingerprint


def otp_login(client, user):
    """Log ``client`` in as ``user`` as after the code page: password and TOTP verified."""
    from tests.factories import TOTPDeviceFactory

    device = TOTPDeviceFactory(user=user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[FINGERPRINT_SESSION_KEY] = device_fingerprint(device)
    session.save()
    return client
