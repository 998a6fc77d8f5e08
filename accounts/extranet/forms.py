"""Forms of the extranet's public side (S1–S6) and of the reassignment back-office pages.

No back-office form has a password field: agents never see or set a password.
"""

from __future__ import annotations

from types import SimpleNamespace

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm

from tickets.captcha import SecurityCodeField
from tickets.forms import FrenchPhoneField, SiretField, clean_french_phone
from worker.text import SafeTextFormMixin

from .session import extranet_authenticate

NOT_AN_EMAIL = _("Ne pas saisir d'adresse de messagerie : saisissez votre identifiant.")
BAD_CREDENTIALS = _("Identifiant ou mot de passe incorrect.")

SECRET_QUESTIONS = [
    ("", _("Choisissez une question…")),
    ("Nom de jeune fille de votre mère ?", _("Nom de jeune fille de votre mère ?")),
    ("Ville de naissance de votre père ?", _("Ville de naissance de votre père ?")),
    ("Nom de votre premier animal ?", _("Nom de votre premier animal ?")),
    ("Nom de votre école primaire ?", _("Nom de votre école primaire ?")),
]


SECURITY_CHECK = _("Contrôle de sécurité")


def _captcha() -> SecurityCodeField:
    return SecurityCodeField()


class IdentifiantField(forms.CharField):
    """An extranet identifiant. An e-mail address typed here is refused before anything
    is looked up (S1: "Ne pas saisir d'adresse de messagerie")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Identifiant"))
        kwargs.setdefault("max_length", 50)
        kwargs.setdefault("help_text", _("Ne pas saisir d'adresse de messagerie"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "characters"}),
        )
        kwargs.setdefault("error_messages", {"required": _("Veuillez saisir votre identifiant.")})
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and "@" in value:
            raise ValidationError(NOT_AN_EMAIL, code="email")
        return value.strip().upper() if value else value


class ExtranetLoginForm(SafeTextFormMixin, DsfrBaseForm):
    identifiant = IdentifiantField()
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Veuillez saisir votre mot de passe.")},
    )

    def __init__(self, *args, security_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = None
        # Set when the password was checked and refused (the per-identifiant count).
        self.credentials_refused = False
        if security_code:
            self.require_security_code()

    def require_security_code(self) -> None:
        """Past a number of failures on one identifiant (from any address), the login also
        asks for the security code; it is checked before the password, so a password is
        never tried without it."""
        if "captcha" in self.fields:
            return
        self.fields["captcha"] = _captcha()
        self.fieldsets = (("", ("identifiant", "password")), (SECURITY_CHECK, ("captcha",)))

    def clean(self):
        cleaned = super().clean()
        # No lookup at all when a field is already wrong (an e-mail as identifiant, a
        # security code asked for and not copied right).
        if self.errors or not cleaned.get("identifiant") or not cleaned.get("password"):
            return cleaned
        self.account = extranet_authenticate(
            identifiant=cleaned["identifiant"], password=cleaned["password"]
        )
        if self.account is None:
            self.credentials_refused = True
            raise ValidationError(BAD_CREDENTIALS, code="invalid_login")
        return cleaned


class SpaceStartForm(SafeTextFormMixin, DsfrBaseForm):
    """S2: N° de Siret, code de sécurité, acceptation des CGU."""

    fieldsets = (("", ("siret",)), (SECURITY_CHECK, ("captcha",)), ("", ("cgu",)))

    siret = SiretField(
        label=_("N° de Siret"),
        help_text=_("14 chiffres, par exemple 732 829 320 00074"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    captcha = _captcha()
    cgu = forms.BooleanField(
        label=_("J'accepte les conditions générales d'utilisation"),
        error_messages={
            "required": _("Vous devez accepter les conditions générales d'utilisation.")
        },
    )


class SpaceCreateForm(SafeTextFormMixin, DsfrBaseForm):
    """S3: the establishment and the user account (case 1)."""

    fieldsets = (
        (
            _("Information établissement"),
            (
                "denomination",
                "street_number",
                "street_extension",
                "street_name",
                "address_complement",
                "postal_code",
                "city",
                "phone",
                "email",
                "email_confirmation",
                "fax",
            ),
        ),
        (
            _("Compte utilisateur à créer"),
            (
                "holder_last_name",
                "holder_first_name",
                "holder_phone",
                "holder_email",
                "holder_email_confirmation",
                "secret_question",
                "secret_answer",
            ),
        ),
        (SECURITY_CHECK, ("captcha",)),
    )
    # Short fields keep a short input; the postal code and the town share a row from 768 px.
    field_layout = {
        "street_number": "fr-fieldset__element--postal",
        "street_extension": "fr-fieldset__element--postal",
        "postal_code": "fr-fieldset__element--postal fr-fieldset__element--inline@md",
        "city": "fr-fieldset__element--inline@md fr-fieldset__element--inline-grow",
    }

    denomination = forms.CharField(label=_("Dénomination de l'établissement"), max_length=200)
    street_number = forms.CharField(label=_("Numéro de voie"), max_length=10, required=False)
    street_extension = forms.CharField(
        label=_("Extension de voie"), max_length=10, required=False, help_text=_("bis, ter…")
    )
    street_name = forms.CharField(label=_("Libellé de la voie"), max_length=200)
    address_complement = forms.CharField(
        label=_("Complément d'adresse"), max_length=200, required=False
    )
    postal_code = forms.RegexField(
        label=_("Code postal"),
        regex=r"^[0-9]{5}$",
        max_length=5,
        error_messages={"invalid": _("Le code postal comporte 5 chiffres.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": "5"}
        ),
    )
    # Free text; with JavaScript, the towns of the postal code are offered in a list
    # (static/js/postal-code-towns.js, fed by the SIRENE registry).
    city = forms.CharField(
        label=_("Ville"),
        max_length=100,
        widget=forms.TextInput(
            attrs={"autocomplete": "address-level2", "data-towns-of": "id_postal_code"}
        ),
    )
    phone = FrenchPhoneField(
        label=_("Téléphone fixe"), widget=forms.TextInput(attrs={"type": "tel"})
    )
    email = forms.EmailField(label=_("Courriel établissement"), max_length=254)
    email_confirmation = forms.EmailField(
        label=_("Confirmer courriel établissement"), max_length=254
    )
    fax = forms.CharField(
        label=_("Fax"), max_length=30, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )

    holder_last_name = forms.CharField(label=_("Nom"), max_length=100)
    holder_first_name = forms.CharField(label=_("Prénom"), max_length=100)
    holder_phone = FrenchPhoneField(
        label=_("Téléphone"), widget=forms.TextInput(attrs={"type": "tel"})
    )
    holder_email = forms.EmailField(
        label=_("Courriel"),
        max_length=254,
        help_text=_("Votre identifiant et le lien d'activation y seront envoyés."),
    )
    holder_email_confirmation = forms.EmailField(label=_("Confirmer courriel"), max_length=254)
    secret_question = forms.ChoiceField(label=_("Question secrète"), choices=SECRET_QUESTIONS)
    secret_answer = forms.CharField(
        label=_("Réponse"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    captcha = _captcha()

    ESTABLISHMENT_FIELDS = (
        "denomination",
        "street_number",
        "street_extension",
        "street_name",
        "address_complement",
        "postal_code",
        "city",
        "phone",
        "email",
        "fax",
    )

    def clean_fax(self):
        value = self.cleaned_data.get("fax", "").strip()
        return clean_french_phone(value) if value else ""

    def clean(self):
        cleaned = super().clean()
        for field, confirmation in (
            ("email", "email_confirmation"),
            ("holder_email", "holder_email_confirmation"),
        ):
            a, b = cleaned.get(field), cleaned.get(confirmation)
            if a and b and a.strip().lower() != b.strip().lower():
                self.add_error(confirmation, _("Les deux adresses ne sont pas identiques."))
            if a:
                cleaned[field] = a.strip().lower()
        return cleaned

    def establishment_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.ESTABLISHMENT_FIELDS}

    def holder_data(self) -> dict:
        return {
            "last_name": self.cleaned_data["holder_last_name"].strip(),
            "first_name": self.cleaned_data["holder_first_name"].strip(),
            "phone": self.cleaned_data["holder_phone"],
            "email": self.cleaned_data["holder_email"],
        }


class ForgotIdentifiantForm(SafeTextFormMixin, DsfrBaseForm):
    fieldsets = (("", ("siret",)), (SECURITY_CHECK, ("captcha",)))

    siret = SiretField(
        label=_("N° de Siret de l'établissement"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    captcha = _captcha()


class ForgotPasswordForm(SafeTextFormMixin, DsfrBaseForm):
    fieldsets = (("", ("identifiant",)), (SECURITY_CHECK, ("captcha",)))

    identifiant = IdentifiantField()
    captcha = _captcha()


class SetPasswordForm(SafeTextFormMixin, DsfrBaseForm):
    """Choose a password (activation) or a new one (reset), with Django's validators."""

    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        # Plain sentences: the hint sits inside the label (DSFR), where a list cannot go.
        help_text=lazy(lambda: " ".join(password_validators_help_texts()), str)(),
    )
    new_password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean(self):
        cleaned = super().clean()
        one, two = cleaned.get("new_password1"), cleaned.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", _("Les deux mots de passe ne sont pas identiques."))
        elif one:
            # The similarity validator compares with these attributes.
            user = None
            if self.account is not None:
                user = SimpleNamespace(
                    username=self.account.identifiant,
                    first_name=self.account.holder_first_name,
                    last_name=self.account.holder_last_name,
                    email=self.account.holder_email,
                )
            try:
                validate_password(one, user=user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


# --- Back-office ------------------------------------------------------------------------


class ReassignmentPrepareForm(SafeTextFormMixin, DsfrBaseForm):
    new_holder_last_name = forms.CharField(label=_("Nom du nouveau titulaire"), max_length=100)
    new_holder_first_name = forms.CharField(label=_("Prénom du nouveau titulaire"), max_length=100)
    new_holder_email = forms.EmailField(
        label=_("Courriel du nouveau titulaire"),
        max_length=254,
        help_text=_("Le lien d'activation y sera envoyé une fois la réattribution appliquée."),
    )
    new_holder_phone = FrenchPhoneField(label=_("Téléphone du nouveau titulaire"))
    evidence_notes = forms.CharField(
        label=_("Éléments vérifiés"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Ce que vous avez vérifié et comment, au-delà de la vérification du SIRET et des "
            "documents cochés ci-dessous, que l'approbateur voit déjà (appel au standard de "
            "l'établissement, échange avec le gérant…)."
        ),
    )

    # The documents the requester sent that the preparer checked (case 2.1, DESIGN.md
    # section 10): choices are the ticket's received documents.
    checked_documents = forms.TypedMultipleChoiceField(
        label=_("Documents vérifiés"),
        required=False,
        coerce=int,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cochez chaque document du demandeur que vous avez ouvert et contrôlé."),
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            (d.pk, f"{d.get_kind_display()} — {d.name} ({d.type_label})")
            for d in documents
            if d.status == "received"
        ]
        if choices:
            self.fields["checked_documents"].choices = choices
        else:
            del self.fields["checked_documents"]

    def clean_new_holder_email(self):
        return self.cleaned_data["new_holder_email"].strip().lower()


class ReassignmentDecisionForm(SafeTextFormMixin, DsfrBaseForm):
    comment = forms.CharField(
        label=_("Commentaire"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["comment"].label = label
            # DsfrBaseForm has already made the bound fields: drop the cached one.
            self._bound_fields_cache.pop("comment", None)
        self.fields["comment"].widget.group_class = "fr-input-group"


class ReassignmentApproveForm(SafeTextFormMixin, DsfrBaseForm):
    """The approval: the version of the file the approver read, and one written
    acknowledgement per live risk signal (``ack_<code>``)."""

    file_version = forms.CharField(widget=forms.HiddenInput, max_length=100)
    comment = forms.CharField(
        label=_("Commentaire d'approbation"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, signals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.signal_fields = []
        for signal in signals:
            name = f"ack_{signal.code}"
            self.fields[name] = forms.CharField(
                label=_("Prise en compte : %(label)s") % {"label": signal.label},
                help_text=signal.explanation,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                error_messages={
                    "required": _("Indiquez par écrit comment vous avez pris ce signal en compte.")
                },
            )
            self.fields[name].widget.group_class = "fr-input-group"
            self.signal_fields.append(name)
        self.fields["comment"].widget.group_class = "fr-input-group"
        # The acknowledgements first, the free comment last, above the button.
        self.order_fields([*self.signal_fields, "comment", "file_version"])

    def acknowledgements(self) -> dict[str, str]:
        return {
            name.removeprefix("ack_"): self.cleaned_data.get(name, "")
            for name in self.signal_fields
        }
