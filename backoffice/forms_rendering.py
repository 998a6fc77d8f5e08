"""The site's form renderer: Django's ``TemplatesSetting`` with the project's DSFR form
and field templates as defaults, so that a plain ``forms.Form`` is drawn exactly like a
django-dsfr ``DsfrBaseForm`` (whose snippets are overridden in ``templates/dsfr/`` to
include the same templates). See ``backoffice/templatetags/dsfr_forms.py``."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class DsfrFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
