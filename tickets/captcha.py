"""The security code of the public forms ("Recopier le code ci-contre", S2, S3, S6, S8).

django-simple-captcha draws the image; this module makes it usable by everyone
(RGAA criterion 1.5): the code is made of digits only, so that it can be read aloud
without ambiguity (French letters such as B, D, P, T, V all end in "é" and are easily
confused when heard); the widget offers an audio version of the same code (generated in
pure Python from clips shipped with the project, see ``backoffice/public/security_code.py``),
and a "Nouveau code" button that draws another code without reloading the page.
"""

from __future__ import annotations

import secrets

from captcha.fields import CaptchaField, CaptchaTextInput
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

DIGITS = "0123456789"


def digits_challenge() -> tuple[str, str]:
    """``CAPTCHA_CHALLENGE_FUNCT``: a code of ``CAPTCHA_LENGTH`` random digits."""
    code = "".join(secrets.choice(DIGITS) for _ in range(settings.CAPTCHA_LENGTH))
    return code, code


class SecurityCodeInput(CaptchaTextInput):
    template_name = "forms/widgets/security_code.html"

    def __init__(self, attrs=None, **kwargs):
        super().__init__(attrs, **kwargs)
        # The answer: digits, typed once (no autofill, no spelling correction).
        self.widgets[1].attrs.update({"inputmode": "numeric", "maxlength": "12"})

    def audio_url(self):
        return reverse("security_code_audio", kwargs={"key": self._key})

    def refresh_url(self):
        return reverse("security_code_refresh")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["refresh"] = self.refresh_url()
        context["code_length"] = settings.CAPTCHA_LENGTH
        return context


class SecurityCodeField(CaptchaField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Recopier le code ci-contre"))
        kwargs.setdefault(
            "help_text",
            _("%(length)s chiffres. Vous pouvez écouter le code ou en afficher un nouveau.")
            % {"length": settings.CAPTCHA_LENGTH},
        )
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": _("Le code de sécurité recopié est incorrect."),
                "required": _("Veuillez recopier le code de sécurité."),
            },
        )
        kwargs.setdefault("widget", SecurityCodeInput())
        super().__init__(**kwargs)
