"""Domain errors of the accounts app. ``message`` is French and may be shown to the user."""

from worker.errors import DomainError


class AccountsError(DomainError):
    pass


class ReassignmentForbidden(AccountsError):
    """The actor's role does not allow this step (HTTP 403)."""


class ReassignmentRefused(AccountsError):
    """A rule of the workflow refuses the step (HTTP 409)."""


class LinkInvalid(AccountsError):
    """The link is unknown, used, revoked or expired."""


class EstablishmentAlreadyKnown(AccountsError):
    """Créer mon espace for an establishment that already has an account (case 2)."""
