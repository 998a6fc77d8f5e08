"""Text that people type (forms, the API): one rule, used everywhere.

* **Refused** (a French error, 422 on the API): characters that PostgreSQL or an e-mail
  cannot carry. NUL (PostgreSQL refuses it in text), the other C0 and C1 control
  characters and DEL (except tab, line feed and carriage return), and lone surrogates
  (no UTF-8 encoding exists for them, so the database driver and the mail encoder fail).
* **Removed** silently: invisible formatting characters that change how a text reads
  without showing themselves: the bidirectional overrides and isolates (U+202A–U+202E,
  U+2066–U+2069: "Dupont‮ markcip" reads backwards to an agent), the directional marks,
  zero-width spaces and joiners, the word joiner family, the byte-order mark and the soft
  hyphen.
* **One-line fields** (names, denomination, SIRET, phone) have their line breaks and tabs
  turned into spaces: a name never spans lines, in a page or in an e-mail header.

Forms get it through ``SafeTextFormMixin`` (every form of the project derives from it);
the API's input schemas through the ``Text`` / ``Line`` pydantic types below, whose
OpenAPI ``pattern`` states the same rule, so a client (and schemathesis) knows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# The refused characters, as one regular-expression class (also written into the OpenAPI
# schema: the \\uXXXX escapes mean the same in Python, Rust (pydantic) and ECMA-262
# regular expressions). Lone surrogates are refused too, by ``clean_text``; they cannot
# be written in a pattern (not Unicode scalar values), and a valid JSON text in UTF-8 that
# decodes to one is the only way in.
FORBIDDEN_CLASS = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
_SURROGATES = r"\uD800-\uDFFF"
# The invisible characters removed at validation.
INVISIBLE_CLASS = r"\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF"

_FORBIDDEN_RE = re.compile(f"[{FORBIDDEN_CLASS}{_SURROGATES}]")
_INVISIBLE_RE = re.compile(f"[{INVISIBLE_CLASS}]")
_LINE_BREAKS_RE = re.compile(r"[\t\n\r\u2028\u2029\u0085]+")

# What a schema-valid string is: no refused character (any length, possibly empty).
CARRIABLE_PATTERN = f"^[^{FORBIDDEN_CLASS}]*$"
# A required field: no refused character and at least one visible one (not whitespace,
# not an invisible character removed at validation). ``\s`` is str.isspace in Python,
# which is what the forms strip.
REQUIRED_PATTERN = (
    f"^[^{FORBIDDEN_CLASS}]*[^{FORBIDDEN_CLASS}{INVISIBLE_CLASS}\\s][^{FORBIDDEN_CLASS}]*$"
)

FORBIDDEN_MESSAGE = _(
    "Ce texte contient un caractère non autorisé (caractère nul ou de contrôle). "
    "Retirez-le et réessayez."
)


class UnsafeText(ValueError):
    """A text with a character that cannot be stored or sent."""


def has_forbidden(value: str) -> bool:
    return _FORBIDDEN_RE.search(value) is not None


def clean_text(value: str, *, one_line: bool = False) -> str:
    """The text as it is stored: refused characters raise ``UnsafeText``, invisible ones
    are removed, and a one-line text has its line breaks and tabs turned into spaces.
    Leading and trailing whitespace is kept (forms strip it themselves)."""
    if has_forbidden(value):
        raise UnsafeText(str(FORBIDDEN_MESSAGE))
    value = _INVISIBLE_RE.sub("", value)
    if one_line:
        value = _LINE_BREAKS_RE.sub(" ", value)
    return value


# --- Forms -------------------------------------------------------------------------------

# Fields whose values are never free text (hidden markers, choices) are left alone: a
# choice with a refused character is refused by the choice check already.
_MULTILINE_WIDGETS = (forms.Textarea,)


class SafeTextFormMixin:
    """Applies ``clean_text`` to every text field of a form after the fields' own
    cleaning: a refused character becomes a French error on that field; invisible
    characters are removed; single-line fields (every widget but a textarea) lose their
    line breaks. Password fields are checked but never altered (a password is compared
    as typed)."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]
    add_error: Callable[[str | None, Any], None]

    def _clean_fields(self) -> None:
        super()._clean_fields()  # type: ignore[misc]
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if not isinstance(value, str) or not isinstance(field, forms.CharField):
                continue
            is_password = isinstance(field.widget, forms.PasswordInput)
            try:
                cleaned = clean_text(
                    value, one_line=not isinstance(field.widget, _MULTILINE_WIDGETS)
                )
            except UnsafeText:
                self.add_error(name, forms.ValidationError(FORBIDDEN_MESSAGE, code="forbidden"))
                continue
            if is_password:
                continue
            if getattr(field, "strip", False):
                cleaned = cleaned.strip()
            if field.required and not cleaned:
                required = field.error_messages["required"]
                self.add_error(name, forms.ValidationError(required, code="required"))
                continue
            self.cleaned_data[name] = cleaned


# --- API (pydantic / ninja) --------------------------------------------------------------


def _checked(one_line: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return clean_text(value, one_line=one_line).strip()
        except UnsafeText:
            raise PydanticCustomError("forbidden_character", str(FORBIDDEN_MESSAGE)) from None

    return check


def _required(value: str) -> str:
    if not value:
        raise PydanticCustomError("string_too_short", "Ce champ est obligatoire.")
    return value


# The patterns are stated in the OpenAPI schema only (``json_schema_extra``) and enforced by
# ``clean_text`` after it: the same rule, with the French message of a refused character
# rather than a generic "does not match".
# Free text (several lines), possibly empty.
Text = Annotated[
    str,
    Field(json_schema_extra={"pattern": CARRIABLE_PATTERN}),
    AfterValidator(_checked(False)),
]
# Free text, required: at least one visible character.
RequiredText = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": REQUIRED_PATTERN}),
    AfterValidator(_checked(False)),
    AfterValidator(_required),
]
# One line (a name, an identifier), possibly empty / required.
Line = Annotated[
    str,
    Field(json_schema_extra={"pattern": CARRIABLE_PATTERN}),
    AfterValidator(_checked(True)),
]
RequiredLine = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": REQUIRED_PATTERN}),
    AfterValidator(_checked(True)),
    AfterValidator(_required),
]
