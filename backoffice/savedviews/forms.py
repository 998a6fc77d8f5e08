"""The forms of saved views: the name (on saving and renaming) and the sharing."""

from __future__ import annotations

from django import forms

from accounts.staff.models import User

from ..forms import BackofficeForm
from .models import NAME_MAX_LENGTH, SavedView


class SavedViewNameForm(BackofficeForm):
    name = forms.CharField(
        label="Nom de la vue",
        max_length=NAME_MAX_LENGTH,
        error_messages={
            "required": "Donnez un nom à cette vue.",
            "max_length": (
                f"Le nom d'une vue tient en {NAME_MAX_LENGTH} caractères au plus "
                "(%(show_value)d saisis)."
            ),
        },
    )

    def __init__(self, *args, owner: User, instance: SavedView | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner, self.instance = owner, instance

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Donnez un nom à cette vue.")
        taken = SavedView.objects.filter(owner=self.owner, name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                "Vous avez déjà une vue nommée « %(name)s » : choisissez un autre nom.",
                params={"name": name},
            )
        return name
