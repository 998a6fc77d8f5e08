from worker.errors import DomainError


class TicketError(DomainError):
    """A rule on tickets refused the operation. ``message`` is French and shown to the user."""


class InvalidTransition(TicketError):
    pass


class StaleTicket(TicketError):
    pass


class TicketNotFound(TicketError):
    """The ticket (or queue) does not exist, or the actor may not see it: the same answer
    for both, so that ids of other queues reveal nothing."""


class ActionNotAllowed(TicketError):
    """The actor sees the ticket but may not do this to it."""


class NoTicketAvailable(TicketError):
    pass


class SiretVerificationRefused(TicketError):
    """A verdict the rules refuse. ``field`` names the input at fault ("verdict" or
    "comment"), so that forms and the API can show the message next to it."""

    def __init__(self, message: str, *, field: str = "verdict"):
        super().__init__(message, field=field)


class DocumentRefused(TicketError):
    """A file that cannot be accepted (type read from its content, size, count). ``field``
    names the form field or API part at fault."""

    def __init__(self, message: str, *, field: str = "documents"):
        super().__init__(message, field=field)


class RequesterReplyRefused(TicketError):
    """The requester may no longer answer this ticket (closed, or its link revoked)."""
