from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm

from tickets.models import SiretVerdict


class SiretVerificationForm(DsfrBaseForm):
    verdict = forms.ChoiceField(
        label=_("Verdict"),
        choices=SiretVerdict.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez un verdict.")},
    )
    comment = forms.CharField(
        label=_("Commentaire"),
        help_text=_("Ce que vous avez vérifié et comment (obligatoire)."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={
            "required": _("Un commentaire est obligatoire : indiquez ce que vous avez vérifié.")
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # django-dsfr's input template reads ``group_class`` and only sets it on selects and
        # radios; without it the strict test templates show an undefined variable.
        self.fields["comment"].widget.group_class = "fr-input-group"
