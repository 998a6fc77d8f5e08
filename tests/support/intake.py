"""Filing requests in tests the way the public form and the API do: validated by the one
form, then stored by the intake service."""

from __future__ import annotations

from tickets.forms import AssistanceRequestForm
from tickets.models import Source
from tickets.services import IntakeResult, assistance_request_submit


def cleaned(data: dict) -> dict:
    form = AssistanceRequestForm(data=data)
    assert form.is_valid(), form.errors
    return form.cleaned_data


def submit(data: dict, source: str = Source.FORM) -> IntakeResult:
    return assistance_request_submit(data=cleaned(data), source=source)
