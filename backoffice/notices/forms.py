"""Forms of the agents' incident-notice pages (DSFR)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Motif

from ..forms import BackofficeForm
from .models import IncidentNotice, NoticeLevel

# Times are typed in Paris time (TIME_ZONE): the browser's date-time picker sends ISO
# values; an agent typing by hand may use the French format.
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %Hh%M",
    "%d/%m/%Y",
]
DATETIME_HELP = "Heure de Paris, par exemple 15/06/2026 14:30."


def _datetime_field(label: str, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_INPUT_FORMATS,
        help_text=DATETIME_HELP,
        error_messages={
            "invalid": "Saisissez une date et une heure valides, par exemple 15/06/2026 14:30."
        },
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class NoticeWindowForm(BackofficeForm):
    """Start and optional end, in Paris time (also the "Programmer" form)."""

    starts_at = _datetime_field("Début", required=True)
    ends_at = _datetime_field("Fin (facultative)", required=False)

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "La fin doit être postérieure au début.")
        return cleaned

    @staticmethod
    def initial_for(notice: IncidentNotice) -> dict:
        def local(value):
            return timezone.localtime(value) if value else None

        return {"starts_at": local(notice.starts_at), "ends_at": local(notice.ends_at)}


class NoticeForm(NoticeWindowForm):
    title = forms.CharField(label="Titre", max_length=200)
    text = forms.CharField(
        label="Texte",
        max_length=2000,
        help_text="Texte brut : les balises HTML sont affichées telles quelles.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    link = forms.URLField(
        label="Lien « En savoir plus » (facultatif)",
        required=False,
        assume_scheme="https",
        help_text="Adresse commençant par https://",
        error_messages={"invalid": "Saisissez une adresse web valide (https://…)."},
    )
    level = forms.ChoiceField(label="Niveau", choices=NoticeLevel.choices, initial=NoticeLevel.INFO)
    affected_motifs = forms.MultipleChoiceField(
        label="Motifs concernés (facultatif)",
        required=False,
        choices=Motif.choices,
        help_text="Les nouvelles demandes de ces motifs sont rattachées au bandeau tant "
        "qu'il est publié.",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Motif inconnu : %(value)s."},
    )

    field_order = ["title", "text", "link", "level", "starts_at", "ends_at", "affected_motifs"]

    def clean_link(self):
        link = self.cleaned_data.get("link", "")
        if link and not link.lower().startswith("https://"):
            raise forms.ValidationError(_("Le lien doit commencer par https://."))
        return link

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    @staticmethod
    def initial_for(notice: IncidentNotice) -> dict:
        return {
            **NoticeWindowForm.initial_for(notice),
            "title": notice.title,
            "text": notice.text,
            "link": notice.link,
            "level": notice.level,
            "affected_motifs": list(notice.affected_motifs),
        }

    def values(self) -> dict:
        """The cleaned values, as the notice services take them."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "text": data["text"],
            "link": data["link"],
            "level": data["level"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "affected_motifs": list(data["affected_motifs"]),
        }


class NoticeResolveForm(BackofficeForm):
    body = forms.CharField(
        label="Réponse envoyée à chaque demandeur",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
