"""Back-office forms (DSFR)."""

from __future__ import annotations

from django import forms
from dsfr.forms import DsfrBaseForm

from tickets.models import Status


class BackofficeForm(DsfrBaseForm):
    """DSFR form whose every widget names its group class (the DSFR field template reads
    ``widget.group_class``, which django-dsfr only sets for selects and radios)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not hasattr(field.widget, "group_class"):
                field.widget.group_class = "fr-input-group"


class LoginForm(BackofficeForm):
    email = forms.EmailField(
        label="Adresse électronique",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OTPTokenForm(BackofficeForm):
    token = forms.RegexField(
        label="Code à 6 chiffres de votre application d'authentification",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "Saisissez les 6 chiffres affichés par l'application."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        return self.cleaned_data["token"].strip()


class PersonalTokenForm(BackofficeForm):
    name = forms.CharField(label="Nom du jeton (à quoi il sert)", max_length=100)


class VersionedForm(BackofficeForm):
    """Ticket page forms carry the version of the ticket the agent was looking at."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StatusForm(VersionedForm):
    status = forms.ChoiceField(label="Nouveau statut", choices=Status.choices)


class AssignForm(VersionedForm):
    # Empty: unassign. Checked by the service (member of the ticket's queue).
    assignee = forms.IntegerField(label="Assigner à", required=False)


class MessageForm(BackofficeForm):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 5}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class BulkForm(BackofficeForm):
    ACTIONS = [("assign", "Assigner"), ("status", "Changer le statut")]

    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.CharField(required=False)
    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    next = forms.CharField(required=False)

    def ticket_ids(self) -> list[int]:
        # Any integer ids: the service checks each one against the actor's queues.
        return [int(v) for v in self.data.getlist("tickets") if str(v).isdigit()]
