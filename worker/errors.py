"""The root of every domain error.

A service refuses an operation by raising a subclass of ``DomainError`` with a French
message that can be shown as is. The API maps these classes to HTTP statuses in one place
(``backoffice.api``); pages show the message next to the form or as a flash message.
"""

from __future__ import annotations


class DomainError(Exception):
    """A domain rule refused the operation. ``message`` is French and shown to the user;
    ``field`` names the input at fault when there is one (forms and the API show the
    message next to it)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
