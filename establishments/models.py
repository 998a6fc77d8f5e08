from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from worker.audit import AppendOnlyModel

from .validators import validate_siret


class AdministrativeStatus(models.TextChoices):
    ACTIVE = "A", _("Actif")
    CLOSED = "F", _("Fermé")


def _siret_constraints(prefix: str) -> list[models.BaseConstraint]:
    # The database itself refuses anything but 14 digits, whatever wrote the row.
    return [
        models.CheckConstraint(
            condition=models.Q(siret__regex=r"^[0-9]{14}$"),
            name=f"{prefix}_siret_14_digits",
            violation_error_message=_("Le SIRET doit comporter 14 chiffres."),
        ),
    ]


class Address(models.Model):
    """The postal address fields of S3 (the extranet's creation form)."""

    street_number = models.CharField(_("numéro de voie"), max_length=10, blank=True)
    street_extension = models.CharField(_("extension de voie"), max_length=10, blank=True)
    street_name = models.CharField(_("libellé de la voie"), max_length=200, blank=True)
    address_complement = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        first = " ".join(
            p for p in (self.street_number, self.street_extension, self.street_name) if p
        )
        last = " ".join(p for p in (self.postal_code, self.city) if p)
        return [line for line in (first, self.address_complement, last) if line]


class Establishment(Address):
    """An establishment known to the extranet (it has, or had, an extranet account)."""

    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    siren = models.CharField(_("SIREN"), max_length=9, db_index=True, editable=False)
    nic = models.CharField(_("NIC"), max_length=5, editable=False)
    denomination = models.CharField(_("dénomination"), max_length=200)
    phone = PhoneNumberField(_("téléphone fixe"), blank=True)
    email = models.EmailField(_("courriel établissement"), blank=True)
    fax = PhoneNumberField(_("fax"), blank=True)
    registry_status = models.CharField(
        _("état administratif (registre)"),
        max_length=1,
        choices=AdministrativeStatus.choices,
        blank=True,
    )
    # When ``email`` last changed (set by ``save``): a change shortly before a
    # reassignment is a risk signal (DESIGN.md section 6).
    email_changed_at = models.DateTimeField(_("courriel modifié le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("établissement")
        verbose_name_plural = _("établissements")
        ordering = ["siret"]
        constraints = [
            *_siret_constraints("establishment"),
            models.CheckConstraint(
                condition=models.Q(siren=models.functions.Substr("siret", 1, 9)),
                name="establishment_siren_prefix",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.denomination} ({self.siret})"

    def save(self, *args, **kwargs):
        # SIREN and NIC are parts of the SIRET: derived here, never typed twice.
        self.siren, self.nic = self.siret[:9], self.siret[9:]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "siret" in update_fields:
            kwargs["update_fields"] = update_fields = {*update_fields, "siren", "nic"}
        loaded = getattr(self, "_loaded_email", None)
        if loaded is not None and loaded != self.email:
            self.email_changed_at = timezone.now()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "email_changed_at"}
        super().save(*args, **kwargs)
        self._loaded_email = self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        # The e-mail as loaded: ``save`` stamps ``email_changed_at`` when it differs.
        instance = super().from_db(db, field_names, values)
        instance._loaded_email = instance.__dict__.get("email")
        return instance


class RegistryEstablishment(Address):
    """A row of the reference registry (INSEE SIRENE stock), against which SIRETs are
    verified. Imported by ``manage.py import_sirene``; never edited by hand."""

    siret = models.CharField(_("SIRET"), max_length=14, primary_key=True)
    siren = models.CharField(_("SIREN"), max_length=9, db_index=True)
    administrative_status = models.CharField(
        _("état administratif"), max_length=1, choices=AdministrativeStatus.choices
    )
    denomination = models.CharField(_("dénomination"), max_length=200, blank=True)
    started_on = models.DateField(_("date de début"), null=True, blank=True)
    imported_at = models.DateTimeField(_("importé le"), auto_now=True)

    class Meta:
        verbose_name = _("établissement du registre")
        verbose_name_plural = _("registre des établissements")
        constraints = _siret_constraints("registry")

    def __str__(self) -> str:
        return f"{self.denomination or '—'} ({self.siret})"

    @property
    def is_active(self) -> bool:
        return self.administrative_status == AdministrativeStatus.ACTIVE


class PostalCodeTown(models.Model):
    """A town served by a postal code, derived from the registry (SIRENE's
    ``codePostalEtablissement`` / ``libelleCommuneEtablissement``) by
    ``establishments.towns.postal_code_towns_rebuild``: "Créer mon espace" offers the towns
    of the typed postal code (S3, "Veuillez saisir un code postal")."""

    postal_code = models.CharField(_("code postal"), max_length=5)
    name = models.CharField(_("commune"), max_length=100)

    class Meta:
        verbose_name = _("commune d'un code postal")
        verbose_name_plural = _("communes des codes postaux")
        constraints = [
            models.UniqueConstraint(fields=["postal_code", "name"], name="postal_code_town_unique")
        ]

    def __str__(self) -> str:
        return f"{self.postal_code} {self.name}"


class EstablishmentChange(AppendOnlyModel):
    """A change of an establishment's e-mail on record (the address that receives the
    objection notice of a reassignment), with its before/after values, whoever made it
    and from wherever (the admin included): written by the model's signals
    (``establishments.receivers``) in the transaction of the change. Append-only."""

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("établissement"),
    )
    field = models.CharField(_("champ"), max_length=30)
    before = models.CharField(_("avant"), max_length=254, blank=True)
    after = models.CharField(_("après"), max_length=254, blank=True)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    # The request's actor (``user:12``) or "hors requête" (a command, a shell).
    actor_ref = models.CharField(_("origine"), max_length=100)
    created_at = models.DateTimeField(_("date"))

    class Meta:
        verbose_name = _("modification d'un établissement")
        verbose_name_plural = _("modifications des établissements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.establishment_id} {self.field}"
