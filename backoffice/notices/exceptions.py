from worker.errors import DomainError


class NoticeError(DomainError):
    """A notice rule refused the operation; ``message`` is French and shown as is."""
