from worker.errors import DomainError


class RegistryImportError(DomainError):
    """The registry file cannot be imported (unreadable, or a column is missing)."""
