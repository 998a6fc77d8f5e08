"""The accessible security code: digits only, an audio version of the same code (made
without any speech program), a "Nouveau code" button, and a real alternative text."""

from __future__ import annotations

import io
import re
import wave

import pytest
from captcha.models import CaptchaStore
from django.urls import reverse

from backoffice.public.security_code import security_code_wav
from tickets.captcha import digits_challenge

pytestmark = pytest.mark.django_db


def test_the_code_is_made_of_digits(settings):
    for _ in range(20):
        challenge, response = digits_challenge()
        assert challenge == response
        assert re.fullmatch(rf"[0-9]{{{settings.CAPTCHA_LENGTH}}}", challenge)


def test_every_public_form_offers_the_audio_version_and_a_new_code(client):
    for name in (
        "space_create_start",
        "forgot_identifiant",
        "forgot_password",
        "assistance_request",
    ):
        page = client.get(reverse(name)).content.decode()
        store = CaptchaStore.objects.order_by("-pk").first()
        assert store.challenge.isdigit()
        audio = reverse("security_code_audio", kwargs={"key": store.hashkey})
        assert f'<audio controls preload="none" src="{audio}"' in page
        assert "Version audio du code" in page
        assert (
            "Nouveau code" in page
            and f'data-refresh-url="{reverse("security_code_refresh")}"' in page
        )
        assert 'alt="captcha"' not in page
        assert 'alt="Image du code de sécurité à recopier"' in page
        assert '<label class="fr-label" for="id_captcha_1">Recopier le code ci-contre' in page


def test_the_audio_says_the_code_twice(client):
    client.get(reverse("forgot_identifiant"))
    store = CaptchaStore.objects.order_by("-pk").first()
    response = client.get(reverse("security_code_audio", kwargs={"key": store.hashkey}))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    with wave.open(io.BytesIO(response.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 11025)
        seconds = audio.getnframes() / audio.getframerate()
    assert 8 < seconds < 30
    # Each digit's clip is in it twice: another code gives another sound.
    assert response.content == security_code_wav(store.challenge)
    assert security_code_wav("000000") != security_code_wav("111111")


def test_an_unknown_or_expired_code_has_no_audio(client):
    response = client.get(reverse("security_code_audio", kwargs={"key": "0" * 40}))
    assert response.status_code == 404


def test_a_new_code_comes_with_its_image_and_audio(client):
    response = client.get(reverse("security_code_refresh"))
    assert response.status_code == 200
    data = response.json()
    store = CaptchaStore.objects.get(hashkey=data["key"])
    assert store.challenge.isdigit()
    assert data["audio_url"] == reverse("security_code_audio", kwargs={"key": data["key"]})
    assert data["key"] in data["image_url"]


def test_the_new_code_is_the_one_checked(client):
    client.get(reverse("forgot_identifiant"))
    data = client.get(reverse("security_code_refresh")).json()
    answer = CaptchaStore.objects.get(hashkey=data["key"]).response
    response = client.post(
        reverse("forgot_identifiant"),
        {"siret": "73282932000074", "captcha_0": data["key"], "captcha_1": answer},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("recovery_requested")
