"""The filters of the ticket lists (queue pages, "mes tickets", "non assignés") and of the
agent API's ticket list: one FilterSet for both, so they filter the same way."""

from __future__ import annotations

import re

import django_filters
from django import forms

from tickets.models import OPEN_STATUSES, Motif, Status, Ticket
from tickets.search import search_filter, search_parse
from tickets.selectors import AGE_FILTERS, age_q, assignable_users, sla_late_q

from .forms import BackofficeForm

AGE_CHOICES = [
    ("lt1d", "Moins de 24 heures"),
    ("1to3d", "1 à 3 jours"),
    ("3to7d", "3 à 7 jours"),
    ("gt7d", "Plus de 7 jours"),
]
assert {code for code, _label in AGE_CHOICES} == set(AGE_FILTERS)

SLA_CHOICES = [("late", "En retard"), ("on_time", "Dans les délais")]


def _assignee_choices(user):
    choices = [("me", "Moi"), ("none", "Personne (non assignés)")]
    choices += [(str(u.pk), str(u)) for u in assignable_users(user=user)]
    return choices


class TicketFilterForm(BackofficeForm):
    pass


class TicketFilter(django_filters.FilterSet):
    """Without a status filter, a list shows the open tickets (nouveau, en cours, en
    attente): what agents work on, and what the partial indexes cover."""

    status = django_filters.MultipleChoiceFilter(
        label="Statut", choices=Status.choices, distinct=False
    )
    motif = django_filters.MultipleChoiceFilter(
        label="Motif", choices=Motif.choices, distinct=False
    )
    assignee = django_filters.ChoiceFilter(
        label="Assigné à", method="filter_assignee", empty_label="Tous"
    )
    age = django_filters.ChoiceFilter(
        label="Ancienneté", choices=AGE_CHOICES, method="filter_age", empty_label="Toutes"
    )
    sla = django_filters.ChoiceFilter(
        label="Délais (SLA)", choices=SLA_CHOICES, method="filter_sla", empty_label="Tous"
    )
    siret = django_filters.CharFilter(label="N° de SIRET", method="filter_siret")
    requester = django_filters.CharFilter(
        label="Demandeur (nom ou adresse électronique)", method="filter_requester"
    )
    q = django_filters.CharFilter(label="Recherche libre", method="filter_text")

    class Meta:
        model = Ticket
        fields: list[str] = []
        form = TicketFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        self.user = request.user
        # The list of agents is only built when the form is rendered (lazily), so the API
        # and exports do not pay for it.
        # (A plain function, not a bound method: form fields are deep-copied.)
        user = self.user
        self.filters["assignee"].extra["choices"] = lambda: _assignee_choices(user)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(status__in=OPEN_STATUSES)
        return queryset

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))

    def filter_age(self, queryset, name, value):
        return queryset.filter(age_q(value))

    def filter_sla(self, queryset, name, value):
        late = sla_late_q()
        return queryset.filter(late) if value == "late" else queryset.exclude(late)

    def filter_siret(self, queryset, name, value):
        digits = re.sub(r"\D", "", value)
        if len(digits) == 14:
            return queryset.filter(siret=digits)
        return queryset.filter(siret__startswith=digits) if digits else queryset.none()

    def filter_requester(self, queryset, name, value):
        value = value.strip()
        if "@" in value:
            return queryset.filter(email__iexact=value)
        return queryset.filter(requester_name__icontains=value)

    def filter_text(self, queryset, name, value):
        # The search box's engine (French full text on PostgreSQL, references, SIRET…).
        return search_filter(queryset, search_parse(value))


def filter_fields(form) -> list[dict]:
    """What the lean filter template needs for each field. Django's widget templates
    render every option through the template engine: for a list page shown all day long,
    that was a third of the page's time."""
    data = form.data
    errors = form.errors if form.is_bound else {}
    fields = []
    for name, field in form.fields.items():
        entry = {
            "name": name,
            "id": f"id_{name}",
            "label": field.label,
            "errors": errors.get(name, []),
        }
        if isinstance(field, forms.MultipleChoiceField):
            selected = set(data.getlist(name)) if hasattr(data, "getlist") else set()
            entry.update(
                kind="multi",
                choices=[
                    (str(value), label, str(value) in selected) for value, label in field.choices
                ],
            )
        elif isinstance(field, forms.ChoiceField):
            current = str(data.get(name, "") or "")
            entry.update(
                kind="select",
                choices=[
                    (str(value), label, str(value) == current) for value, label in field.choices
                ],
            )
        else:
            entry.update(kind="text", value=data.get(name, "") or "")
        fields.append(entry)
    return fields
