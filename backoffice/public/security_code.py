"""The security code's audio version and its "Nouveau code" refresh (tickets.captcha).

The audio is assembled here, in pure Python, from spoken clips committed under
``security_code_audio/`` (digits, "Code de sécurité.", "Je répète."): no speech program is
needed on the server, and nothing leaves this machine. The code is said twice.
"""

from __future__ import annotations

import functools
import io
import wave
from pathlib import Path

from captcha.helpers import captcha_image_url
from captcha.models import CaptchaStore
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from worker.text import has_forbidden

CLIPS = Path(__file__).resolve().parent / "security_code_audio"
RATE = 11025
GAP_SECONDS = 0.45
PAUSE_SECONDS = 1.0


@functools.cache
def _clip(name: str) -> bytes:
    with wave.open(str(CLIPS / f"{name}.wav")) as clip:
        if (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) != (1, 2, RATE):
            raise ValueError(f"{name}.wav is not 11025 Hz mono 16-bit")
        return clip.readframes(clip.getnframes())


def _silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(RATE * seconds)


def security_code_wav(code: str) -> bytes:
    """The WAV (11,025 Hz, mono, 16-bit) of ``code`` read out twice."""
    spoken = b"".join(_clip(digit) + _silence(GAP_SECONDS) for digit in code)
    frames = (
        _silence(0.3)
        + _clip("intro")
        + _silence(PAUSE_SECONDS)
        + spoken
        + _silence(PAUSE_SECONDS)
        + _clip("repeat")
        + _silence(PAUSE_SECONDS)
        + spoken
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    return buffer.getvalue()


@never_cache
@require_GET
def security_code_audio(request, key: str):
    if has_forbidden(key):
        raise Http404  # a NUL byte would make the database fail, not miss
    store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
    if store is None or not store.challenge.isdigit():
        raise Http404
    response = HttpResponse(security_code_wav(store.challenge), content_type="audio/wav")
    response["Content-Disposition"] = 'inline; filename="code-de-securite.wav"'
    return response


@never_cache
@require_GET
def security_code_refresh(request):
    """A new code for the "Nouveau code" button: its key, image and audio addresses."""
    key = CaptchaStore.generate_key()
    return JsonResponse(
        {
            "key": key,
            "image_url": captcha_image_url(key),
            "audio_url": reverse("security_code_audio", kwargs={"key": key}),
        }
    )
