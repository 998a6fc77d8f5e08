"""Back-office forms (DSFR)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from dsfr.forms import DsfrBaseForm

from accounts.staff.models import User
from tickets.models import Motif, Priority, Queue, Status
from worker.text import SafeTextFormMixin


class BackofficeForm(SafeTextFormMixin, DsfrBaseForm):
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
    # Applies when the new status is "Résolu" (remembered for the session).
    take_next = forms.BooleanField(
        label="Puis prendre le ticket suivant de la file", required=False
    )


class AssignForm(VersionedForm):
    # Empty: unassign. Checked by the service (member of the ticket's queue).
    assignee = forms.IntegerField(label="Assigner à", required=False)


class MessageForm(BackofficeForm):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 5}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class ReplyForm(MessageForm):
    """The ticket page's reply box: the text, the canned reply it was built from (counted
    when sent), and what to do with the ticket at the same time (the submit button
    pressed: ``then``), then maybe take the next ticket of the queue."""

    THEN = [
        ("", "Envoyer la réponse"),
        (Status.EN_ATTENTE, "Répondre et mettre en attente"),
        (Status.RESOLU, "Répondre et résoudre"),
    ]

    body = forms.CharField(
        label="Répondre au demandeur",
        error_messages={"required": "Écrivez la réponse avant de l'envoyer."},
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    canned_reply = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    then = forms.ChoiceField(choices=THEN, required=False)
    take_next = forms.BooleanField(
        label="Puis prendre le ticket suivant de la file", required=False
    )


class CannedReplyForm(BackofficeForm):
    """A canned reply's values; ``tickets.services.canned`` checks them again (placeholders
    included) and saves."""

    queue = forms.ModelChoiceField(
        label="File",
        queryset=None,
        empty_label=None,
        error_messages={
            "invalid_choice": "Choisissez une file de la liste.",
            "required": "Choisissez une file.",
        },
    )
    motif = forms.ChoiceField(
        label="Motif",
        required=False,
        help_text="La réponse type n'est proposée que sur les tickets de ce motif.",
        error_messages={"invalid_choice": "Choisissez un motif de la liste."},
    )
    title = forms.CharField(
        label="Titre (ce que l'agent choisit dans la liste)",
        max_length=120,
        error_messages={"required": "Donnez un titre à la réponse type."},
    )
    body = forms.CharField(
        label="Texte",
        max_length=5000,
        help_text=(
            "Champs remplis pour chaque ticket : {reference}, {denomination}, {demandeur}, "
            "{lien_de_suivi} (le lien de suivi personnel, ajouté au courriel envoyé)."
        ),
        error_messages={"required": "Le texte de la réponse type est vide."},
        widget=forms.Textarea(attrs={"rows": 12}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.order_by("name")
        self.fields["motif"].choices = [("", "Tous les motifs de la file"), *Motif.choices]


class CannedReplyEditForm(CannedReplyForm):
    is_active = forms.BooleanField(
        label="Active (proposée aux agents sur les tickets)", required=False
    )


class BulkForm(BackofficeForm):
    ACTIONS = [("assign", "Assigner"), ("status", "Changer le statut")]

    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.CharField(required=False)
    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    next = forms.CharField(required=False)

    def ticket_ids(self) -> list[int]:
        # Any integer ids: the service checks each one against the actor's queues.
        return [int(v) for v in self.data.getlist("tickets") if str(v).isdigit()]


DASHBOARD_MAX_DAYS = 366


class DashboardFilterForm(BackofficeForm):
    """The supervisors' dashboard filters: a period (whole days, both included) and an
    optional queue. Unbound: the last 30 days, every queue."""

    date_from = forms.DateField(
        label="Du",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date valide (jj/mm/aaaa)."},
    )
    date_to = forms.DateField(
        label="Au",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date valide (jj/mm/aaaa)."},
    )
    queue = forms.ChoiceField(
        label="File",
        required=False,
        error_messages={"invalid_choice": "Choisissez une file de la liste."},
    )

    def __init__(self, *args, queues, default_period, **kwargs):
        super().__init__(*args, **kwargs)
        # The queues are already loaded (the navigation needs them): no second query.
        self.fields["queue"].choices = [("", "Toutes les files")] + [(q.pk, q.name) for q in queues]
        self._queues = {str(q.pk): q for q in queues}
        self.default_period = default_period
        self.fields["date_from"].initial, self.fields["date_to"].initial = default_period

    def clean_queue(self):
        # Resolved from the loaded list rather than by a query.
        raw = self.cleaned_data.get("queue") or ""
        return self._queues.get(str(raw)) if raw else None

    def clean(self):
        cleaned = super().clean()
        start = cleaned.get("date_from") or self.default_period[0]
        end = cleaned.get("date_to") or self.default_period[1]
        if "date_from" in self.errors or "date_to" in self.errors:
            return cleaned
        if start > end:
            raise forms.ValidationError(_("La date de début doit précéder la date de fin."))
        if (end - start).days + 1 > DASHBOARD_MAX_DAYS:
            raise forms.ValidationError(
                _("La période ne peut pas dépasser %(days)s jours.") % {"days": DASHBOARD_MAX_DAYS}
            )
        cleaned["date_from"], cleaned["date_to"] = start, end
        return cleaned

    def period(self) -> tuple:
        """The period and queue to show: the chosen ones when valid, else the defaults."""
        if self.is_bound and self.is_valid():
            return (
                self.cleaned_data["date_from"],
                self.cleaned_data["date_to"],
                self.cleaned_data["queue"],
            )
        return self.default_period[0], self.default_period[1], None


_HOURS_ERRORS = {
    "required": "Indiquez un délai en heures ouvrées.",
    "invalid": "Saisissez un nombre entier d'heures ouvrées.",
    "min_value": "Le délai doit être d'au moins 1 heure ouvrée.",
    "max_value": "Le délai ne peut pas dépasser %(limit_value)s heures ouvrées.",
}


class RoutingRuleForm(BackofficeForm):
    """A routing rule's editable values; ``tickets.services.routing_rule_update`` checks
    them again (and is the one that saves)."""

    queue = forms.ModelChoiceField(
        label="File de destination",
        queryset=None,
        empty_label=None,
        error_messages={
            "invalid_choice": "Choisissez une file de la liste.",
            "required": "Choisissez une file.",
        },
    )
    priority = forms.TypedChoiceField(
        label="Priorité",
        coerce=int,
        error_messages={"invalid_choice": "Choisissez une priorité de la liste."},
    )
    first_response_hours = forms.IntegerField(
        label="Délai de première réponse (heures ouvrées)",
        min_value=1,
        max_value=2000,
        error_messages=_HOURS_ERRORS,
    )
    resolution_hours = forms.IntegerField(
        label="Délai de résolution (heures ouvrées)",
        min_value=1,
        max_value=2000,
        error_messages=_HOURS_ERRORS,
    )
    is_active = forms.BooleanField(
        label="Règle active (sinon, la file par défaut reçoit ces demandes)", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.order_by("name")
        self.fields["priority"].choices = Priority.choices


class QueueMembersForm(BackofficeForm):
    members = forms.ModelMultipleChoiceField(
        label="Agents de la file",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Un des agents choisis n'existe pas.",
            "invalid_pk_value": "Choix invalide.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.filter(is_active=True).order_by(
            "last_name", "first_name", "email"
        )


class RoutingPreviewForm(BackofficeForm):
    motif = forms.ChoiceField(
        label="Motif de la demande",
        error_messages={
            "required": "Choisissez un motif.",
            "invalid_choice": "Choisissez un motif de la liste.",
        },
    )
    siret = forms.CharField(
        label="SIRET (facultatif)",
        required=False,
        max_length=20,
        help_text="14 chiffres ; indique si l'établissement est connu du référentiel.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["motif"].choices = [("", "— Choisir —"), *Motif.choices]

    def clean_siret(self):
        siret = "".join(self.cleaned_data["siret"].split())
        if siret and (len(siret) != 14 or not siret.isdigit()):
            raise forms.ValidationError(_("Le SIRET compte 14 chiffres."))
        return siret
