"""The one way forms are drawn on this site (DSFR 1.14 structure).

Every form, public or back-office, goes through ``templates/forms/`` (the project's form
renderer, see ``backoffice.forms_rendering``, and the overrides of django-dsfr's snippets):
fields wrapped in ``fr-fieldset__element`` inside ``fr-fieldset`` rows, DSFR input groups,
hints in the label, and error messages in a ``fr-messages-group`` that the input names in
its ``aria-describedby``. A form lays itself out with two optional class attributes:

* ``fieldsets``: ``[(legend, ("field", ...)), ...]``; fields not listed follow, without
  a legend;
* ``field_layout``: ``{"field": "fr-fieldset__element--postal", ...}``, extra classes of a
  field's ``fr-fieldset__element`` wrapper (short fields side by side from 768 px).
"""

from __future__ import annotations

from django import template
from django.utils.text import slugify

register = template.Library()

# The DSFR class of the control itself, by Django widget type.
_CONTROL_CLASS = {
    "select": "fr-select",
    "selectmultiple": "fr-select",
    "nullbooleanselect": "fr-select",
}
_NO_CONTROL_CLASS = {"checkbox", "radioselect", "checkboxselectmultiple", "file", "clearablefile"}


@register.filter
def dsfr_groups(form) -> list[dict]:
    """The visible fields of ``form`` grouped as declared by ``form.fieldsets``."""
    declared = getattr(form, "fieldsets", None) or ()
    layout = getattr(form, "field_layout", None) or {}
    visible = {field.name: field for field in form.visible_fields()}
    groups, placed = [], set()
    prefix = form.prefix or "form"
    for index, (legend, names) in enumerate(declared):
        fields = [visible[name] for name in names if name in visible]
        placed.update(name for name in names)
        if fields:
            groups.append(
                {
                    "legend": legend,
                    "id": f"{prefix}-{slugify(str(legend)) or index}",
                    "items": [(field, layout.get(field.name, "")) for field in fields],
                }
            )
    rest = [field for name, field in visible.items() if name not in placed]
    if rest:
        groups.append(
            {"legend": "", "id": "", "items": [(f, layout.get(f.name, "")) for f in rest]}
        )
    return groups


@register.filter
def dsfr_has_required(form) -> bool:
    return any(field.field.required for field in form.visible_fields())


@register.filter
def dsfr_messages_id(field) -> str:
    return f"{field.auto_id or field.html_name}-messages"


@register.filter
def dsfr_control(field):
    """The field's widget with its DSFR class, ``aria-describedby`` naming the field's
    messages group, and ``aria-invalid`` when it has errors."""
    widget = field.field.widget
    classes = [c for c in str(widget.attrs.get("class", "")).split() if c]
    base = _CONTROL_CLASS.get(field.widget_type, "fr-input")
    if field.widget_type not in _NO_CONTROL_CLASS and base not in classes:
        classes.insert(0, base)
    attrs = {"aria-describedby": dsfr_messages_id(field)}
    if classes:
        attrs["class"] = " ".join(classes)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
