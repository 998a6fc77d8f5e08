"""Choice labels without rebuilding the choices on every call.

Django's ``get_FOO_display()`` builds a dict of the field's choices, made hashable, on each
call. The ticket page calls it for every message, document and event (about a hundred times
with 20 messages and 20 documents): that was a sixth of the page's CPU. Models that inherit
``ChoiceLabels`` read a dict built once per field; the labels stay lazy translations,
turned into text at each call as Django does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@cache
def _labels(field: models.Field) -> dict[Any, Any]:
    return dict(make_hashable(field.flatchoices))


class ChoiceLabels(models.Model):
    class Meta:
        abstract = True

    def _get_FIELD_display(self, field: models.Field) -> Any:  # noqa: N802 - Django's name
        value = getattr(self, field.attname)
        labels = _labels(field)
        try:
            label = labels.get(value, value)
        except TypeError:  # an unhashable value (a list in a JSON choice field)
            label = labels.get(make_hashable(value), value)
        return force_str(label, strings_only=True)
