"""Validation of an assistance request, in one place: the public form and the JSON API both
run ``AssistanceRequestForm``, so they accept the same input and give the same French
messages."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm

from establishments.validators import clean_siret
from worker.text import SafeTextFormMixin

from .captcha import SecurityCodeField
from .documents import IncomingDocument
from .models import HABILITATION_EVIDENCE, Motif, SiretVerdict

# Overseas departments and collectivities first, then France: their numbers, as dialled
# in France (0262…, 0590…, 0596…, 0269…), also match unassigned metropolitan ranges, so
# trying FR first would store a wrong +33 number (STACK.md: RE, GP, GF, MQ, YT, PM).
PHONE_REGIONS = ("RE", "YT", "GP", "MQ", "GF", "BL", "MF", "FR")
# Saint-Pierre-et-Miquelon numbers have 6 digits; dialled from France: 0508 + 6 digits.
_SPM_PREFIX = "0508"
# Numbers dialled in France that start with these two digits are metropolitan only (the
# overseas ranges are in 02, 05, 06, 08 and 09): one parse instead of eight. The test
# tests/tickets/test_intake_cost.py checks that this gives what the full search gives.
_METROPOLITAN_ONLY = ("01", "03", "04", "07")


def clean_french_phone(value: str) -> str:
    """Return the number in E.164 form or raise a French ValidationError."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(_("Veuillez indiquer un numéro de téléphone."), code="required")
    regions = (None,) if raw.startswith("+") or raw.startswith("00") else PHONE_REGIONS
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = "".join(c for c in raw if c.isdigit())
    if not raw.startswith("+") and digits.startswith(_SPM_PREFIX) and len(digits) == 10:
        raw, regions = "+508" + digits[4:], (None,)
    elif regions is PHONE_REGIONS and digits[:2] in _METROPOLITAN_ONLY:
        regions = ("FR",)
    for region in regions:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationError(
        _("Le numéro de téléphone est invalide (exemple : 01 23 45 67 89)."), code="invalid"
    )


class SiretField(forms.CharField):
    default_error_messages = {"required": _("Veuillez indiquer le numéro de SIRET.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return clean_siret(value) if value else value


class FrenchPhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return clean_french_phone(value) if value else value


MOTIF_PLACEHOLDER = ("", _("Veuillez sélectionner un motif…"))


class AssistanceRequestForm(SafeTextFormMixin, forms.Form):
    """The rules of an assistance request, shared by the JSON API (which only validates)
    and the public form (``PublicAssistanceRequestForm``, rendered with the DSFR). Not a
    ``DsfrBaseForm``: its constructor dresses every widget for rendering, 6 % of the API
    intake's CPU (issue 15)."""

    siret = SiretField(
        label=_("N° de Siret"),
        help_text=_("14 chiffres, par exemple 732 829 320 00074"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    denomination = forms.CharField(label=_("Dénomination établissement"), max_length=200)
    requester_name = forms.CharField(
        label=_("Nom et prénom"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = FrenchPhoneField(
        label=_("N° de téléphone"),
        help_text=_("Par exemple 01 02 03 04 05"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    email = forms.EmailField(
        label=_("Adresse électronique"),
        max_length=254,
        help_text=_("Format attendu : prenom.nom@exemple.fr"),
        error_messages={
            "invalid": _(
                "Saisissez une adresse électronique valide (exemple : prenom.nom@exemple.fr)."
            )
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    motif = forms.ChoiceField(
        label=_("Motif de la demande"),
        choices=[MOTIF_PLACEHOLDER, *Motif.choices],
        error_messages={
            "invalid_choice": _("Choisissez un des motifs proposés."),
            "required": _("Veuillez sélectionner un motif."),
        },
    )
    description = forms.CharField(
        label=_("Description de la demande"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def clean_denomination(self):
        return " ".join(self.cleaned_data["denomination"].split())

    def clean_requester_name(self):
        return " ".join(self.cleaned_data["requester_name"].split())

    def clean_email(self):
        # Addresses are compared case-insensitively (repeat rule, lookups): store them so.
        return self.cleaned_data["email"].strip().lower()


class PublicAssistanceRequestForm(AssistanceRequestForm, DsfrBaseForm):
    fieldsets = (
        (
            "",
            (
                "siret",
                "denomination",
                "requester_name",
                "phone",
                "email",
                "motif",
                "description",
            ),
        ),
        (_("Contrôle de sécurité"), ("captcha",)),
    )

    captcha = SecurityCodeField()


class SiretVerificationForm(SafeTextFormMixin, DsfrBaseForm):
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
    name_justification = forms.CharField(
        label=_("Justification de la dénomination"),
        help_text=_(
            "Obligatoire pour un verdict conforme quand la dénomination déclarée n'est pas "
            "exactement celle du registre, ou que le registre n'en donne pas : expliquez "
            "pourquoi c'est bien le même établissement."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # django-dsfr's input template reads ``group_class`` and only sets it on selects and
        # radios; without it the strict test templates show an undefined variable.
        self.fields["comment"].widget.group_class = "fr-input-group"
        self.fields["name_justification"].widget.group_class = "fr-input-group"


# --- The requester's follow-up page and the agents' document actions ----------------------

# The reply an agent starts from when a Habilitation request needs evidence (case 2.1).
DOCUMENTS_REQUEST_BODY = _(
    "Bonjour,\n\n"
    "Pour traiter votre demande d'habilitation à l'extranet, nous avons besoin des "
    "justificatifs ci-dessous. Déposez-les depuis votre espace de suivi (le lien figure dans "
    "ce courriel), au format PDF, JPEG ou PNG.\n\n"
    "L'équipe d'assistance"
)
DOCUMENT_ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": DOCUMENT_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class FollowUpReplyForm(SafeTextFormMixin, forms.Form):
    """The requester's answer: a message and files. On an "Habilitation à l'extranet"
    request that was asked for documents, one file input per document asked for, then
    "other documents". What the files are is checked by the service (their content)."""

    body = forms.CharField(
        label=_("Votre message"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args, expected: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected_fields = []
        for kind, label in expected or []:
            name = f"file_{kind}"
            self.fields[name] = forms.FileField(
                label=label,
                required=False,
                widget=forms.FileInput(attrs={"accept": DOCUMENT_ACCEPT}),
            )
            self.expected_fields.append((name, kind))
        self.fields["files"] = MultipleFileField(
            label=_("Autres documents") if expected else _("Documents"), required=False
        )

    def incoming(self) -> list[IncomingDocument]:
        files = [
            IncomingDocument(file=self.cleaned_data[name], kind=kind)
            for name, kind in self.expected_fields
            if self.cleaned_data.get(name)
        ]
        files += [IncomingDocument(file=f) for f in self.cleaned_data.get("files") or []]
        return files


class DocumentRejectForm(SafeTextFormMixin, forms.Form):
    reason = forms.CharField(label=_("Motif du refus"), max_length=2000)


class DocumentsRequestForm(SafeTextFormMixin, forms.Form):
    body = forms.CharField(label=_("Message au demandeur"), max_length=10000)
    kinds = forms.MultipleChoiceField(
        label=_("Documents demandés"),
        choices=[],
        widget=forms.CheckboxSelectMultiple,
    )
    version = forms.IntegerField(required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "initial",
            {"body": DOCUMENTS_REQUEST_BODY, "kinds": [k.value for k in HABILITATION_EVIDENCE]},
        )
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k.value, k.label) for k in HABILITATION_EVIDENCE]
