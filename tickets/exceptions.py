class TicketError(Exception):
    """A domain rule refused the operation. ``message`` is French and shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
